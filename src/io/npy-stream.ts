// Embedding tables larger than memory as .npy float32 [N, D] (numpy opens them, readNpy too): the writer sizes the
// file for the final N first and writes rows batch by batch at their offsets; the reader reads row ranges or
// gathers rows by index with positioned reads, never loading the whole file (Node cannot memory-map; the OS page
// cache serves repeated reads).
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import * as torch from "../torch/index.js";
import { DTYPE_BYTES, type DType } from "../torch/index.js";
import { encodeNpyHeader, parseNpyHeader, type NpyHeader } from "./npy.js";

const ROW_BYTES = 4; // float32

/**
 * Writes the rows of a C-order .npy [rows, ...] at their offsets, from one process or several at once (sharded
 * inference: no rank gathers the others' rows). One process creates `<file>.partial` at its final size, every
 * writer then opens it and writes its row ranges, and once all are done one process commits it under its name, so
 * that an interrupted run leaves no file that looks whole.
 */
export class NpyRowsWriter {
  readonly #fd: number;
  readonly #header: NpyHeader;
  readonly #rowBytes: number;
  /** Rows written by this writer. */
  written = 0;

  /** Creates `<file>.partial`: the header of a [shape] array of `dtype`, and room (zeros) for its data. */
  static create(file: string, dtype: DType, shape: readonly number[]): void {
    const header = encodeNpyHeader(dtype, shape);
    const fd = openSync(`${file}.partial`, "w");
    try {
      writeSync(fd, header);
      ftruncateSync(fd, header.length + shape.reduce((a, b) => a * b, DTYPE_BYTES[dtype]));
    } finally {
      closeSync(fd);
    }
  }

  /** Renames the finished `<file>.partial` into place. */
  static commit(file: string): void {
    renameSync(`${file}.partial`, file);
  }

  /** Deletes `<file>.partial`. */
  static discard(file: string): void {
    rmSync(`${file}.partial`, { force: true });
  }

  /** Opens the `<file>.partial` that create() made. */
  constructor(readonly file: string) {
    this.#fd = openSync(`${file}.partial`, "r+");
    try {
      this.#header = readHeader(this.#fd, `${file}.partial`);
    } catch (error) {
      closeSync(this.#fd);
      throw error;
    }
    this.#rowBytes = this.#header.shape.slice(1).reduce((a, b) => a * b, DTYPE_BYTES[this.#header.dtype]);
  }

  /** Writes `batch` [B, ...] (converted to the file's dtype, on the CPU) as rows row..row+B-1. */
  write(row: number, batch: torch.Tensor): void {
    const { shape, dtype, dataStart } = this.#header;
    if (batch.ndim !== shape.length || batch.shape.slice(1).some((d, i) => d !== shape[i + 1])) {
      throw new RangeError(
        `${this.file}: rows must be [B, ${shape.slice(1).join(", ")}], got [${batch.shape.join(", ")}]`,
      );
    }
    const count = batch.size(0);
    if (!(Number.isInteger(row) && row >= 0 && row + count <= shape[0]!)) {
      throw new RangeError(`${this.file}: rows [${row}, ${row + count}) are outside the ${shape[0]} declared`);
    }
    const data = torch.tidy(() => batch.to({ dtype, device: "cpu" }).contiguous().data());
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    for (let done = 0; done < bytes.length;) {
      done += writeSync(this.#fd, bytes, done, bytes.length - done, dataStart + row * this.#rowBytes + done);
    }
    this.written += count;
  }

  close(): void {
    closeSync(this.#fd);
  }
}

// headers are at most 12 + 10,000 bytes (numpy's limit); parseNpyHeader says when a longer one is cut off
function readHeader(fd: number, file: string): NpyHeader {
  const size = fstatSync(fd).size;
  const prefix = Buffer.alloc(Math.min(size, 12 + 10_000));
  readSync(fd, prefix, 0, prefix.length, 0);
  // the same checks as readNpy, the file's size against its header included
  return parseNpyHeader(prefix, file, size);
}

/** Reads rows of a float32 [N, D] .npy without loading it; an EmbeddingLookup for the precomputed-loss context. */
export class NpyRows {
  readonly count: number;
  readonly dim: number;
  readonly #fd: number;
  readonly #dataStart: number;

  constructor(readonly file: string) {
    this.#fd = openSync(file, "r");
    let header: NpyHeader;
    try {
      header = readHeader(this.#fd, file);
    } catch (error) {
      closeSync(this.#fd);
      throw error;
    }
    if (header.dtype !== "float32" || header.fortranOrder || header.shape.length !== 2) {
      closeSync(this.#fd);
      throw new Error(
        `${file}: expected C-order float32 embeddings [N, D], got ${header.fortranOrder ? "Fortran-order " : ""}` +
          `${header.dtype} [${header.shape.join(", ")}] (save them with arr.astype('<f4'))`,
      );
    }
    [this.count, this.dim] = header.shape as [number, number];
    this.#dataStart = header.dataStart;
  }

  /** Rows [start, end) as a float32 tensor [end - start, D]. */
  rows(start: number, end: number): torch.Tensor {
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= this.count)) {
      throw new RangeError(`${this.file}: rows [${start}, ${end}) are outside 0..${this.count}`);
    }
    const out = new Float32Array((end - start) * this.dim);
    const bytes = new Uint8Array(out.buffer);
    this.#read(bytes, start);
    return torch.tensor(out, { shape: [end - start, this.dim] });
  }

  gather(indices: torch.Tensor): torch.Tensor {
    if (indices.dtype !== "int64" || indices.ndim !== 1) {
      throw new TypeError(
        `${this.file}: sample indices must be int64 [B], got ${indices.dtype} [${indices.shape.join(", ")}]`,
      );
    }
    const wanted = indices.toNumbers();
    const rowBytes = this.dim * ROW_BYTES;
    const out = new Float32Array(wanted.length * this.dim);
    const bytes = new Uint8Array(out.buffer);
    wanted.forEach((row, i) => {
      if (!(row >= 0 && row < this.count)) {
        throw new RangeError(
          `${this.file}: sample index ${row} is outside the ${this.count} rows ` +
            "(were the embeddings extracted from this dataset, in the same order?)",
        );
      }
      this.#read(bytes.subarray(i * rowBytes, (i + 1) * rowBytes), row);
    });
    return torch.tensor(out, { shape: [wanted.length, this.dim] });
  }

  close(): void {
    closeSync(this.#fd);
  }

  #read(into: Uint8Array, row: number): void {
    const position = this.#dataStart + row * this.dim * ROW_BYTES;
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.#fd, into, done, into.length - done, position + done);
      if (n === 0) throw new Error(`${this.file}: truncated (row ${row} is past the end of the file)`);
      done += n;
    }
  }
}
