// Embedding tables larger than memory as .npy float32 [N, D] (numpy opens them, readNpy too): the writer puts the
// header for the final N first and appends rows batch by batch; the reader reads row ranges or gathers rows by
// index with positioned reads, never loading the whole file (Node cannot memory-map; the OS page cache serves
// repeated reads).
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import * as torch from "../torch/index.js";
import { encodeNpyHeader, parseNpyHeader, type NpyHeader } from "./npy.js";

const ROW_BYTES = 4; // float32

/**
 * Writes an [rows, dim] float32 .npy in batches of rows. The file appears under its name only when close() finds
 * every row written (until then it is `<file>.partial`).
 */
export class NpyRowWriter {
  readonly #fd: number;
  readonly #partial: string;
  #written = 0;
  #open = true;

  constructor(
    readonly file: string,
    readonly rows: number,
    readonly dim: number,
  ) {
    this.#partial = `${file}.partial`;
    this.#fd = openSync(this.#partial, "w");
    writeSync(this.#fd, encodeNpyHeader("float32", [rows, dim]));
  }

  get written(): number {
    return this.#written;
  }

  /** Appends a batch [B, dim] (converted to float32 on the CPU). */
  append(batch: torch.Tensor): void {
    if (batch.ndim !== 2 || batch.size(1) !== this.dim) {
      throw new RangeError(`${this.file}: rows must be [B, ${this.dim}], got [${batch.shape.join(", ")}]`);
    }
    if (this.#written + batch.size(0) > this.rows) {
      throw new RangeError(`${this.file}: more than the ${this.rows} rows declared in the header`);
    }
    const data = torch.tidy(() => batch.to({ dtype: "float32", device: "cpu" }).contiguous().data()) as Float32Array;
    writeSync(this.#fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    this.#written += batch.size(0);
  }

  /** Renames the finished file into place; throws (and deletes it) when rows are missing. */
  close(): void {
    this.#finish();
    if (this.#written !== this.rows) {
      rmSync(this.#partial, { force: true });
      throw new Error(`${this.file}: ${this.#written} rows written of the ${this.rows} declared; nothing was kept`);
    }
    renameSync(this.#partial, this.file);
  }

  /** Gives up: deletes the partial file (nothing to do once closed). */
  abort(): void {
    if (!this.#open) return;
    this.#finish();
    rmSync(this.#partial, { force: true });
  }

  #finish(): void {
    this.#open = false;
    closeSync(this.#fd);
  }
}

/** Reads rows of a float32 [N, D] .npy without loading it; an EmbeddingLookup for the precomputed-loss context. */
export class NpyRows {
  readonly count: number;
  readonly dim: number;
  readonly #fd: number;
  readonly #dataStart: number;

  constructor(readonly file: string) {
    this.#fd = openSync(file, "r");
    // headers are at most 12 + 10,000 bytes (numpy's limit); parseNpyHeader says when a longer one is cut off
    const size = fstatSync(this.#fd).size;
    const prefix = Buffer.alloc(Math.min(size, 12 + 10_000));
    readSync(this.#fd, prefix, 0, prefix.length, 0);
    let header: NpyHeader;
    try {
      // the same checks as readNpy, the file's size against its header included
      header = parseNpyHeader(prefix, file, size);
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
