// NumPy's .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): the magic
// "\x93NUMPY", a version, a little-endian header length (2 bytes in version 1, 4 in versions 2 and 3), a Python
// dict literal { 'descr': '<f4', 'fortran_order': False, 'shape': (2, 512), } padded with spaces and ended by a
// newline so that the data starts at a multiple of 64 bytes, then the elements.
import { existsSync, readFileSync, writeSync } from "node:fs";
import * as torch from "../torch/index.js";
import type { DType, Tensor } from "../torch/index.js";
import { DTYPE_BYTES, typedArrayFromBytes } from "../torch/index.js";
import { writeAtomically } from "./atomic.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

const DESCR_OF: Partial<Record<DType, string>> = {
  float32: "<f4",
  float64: "<f8",
  float16: "<f2",
  int64: "<i8",
  int32: "<i4",
  int16: "<i2",
  int8: "|i1",
  uint8: "|u1",
  bool: "|b1",
};
const DTYPE_OF = new Map<string, DType>(Object.entries(DESCR_OF).map(([d, c]) => [c, d as DType]));
// single-byte types may be written with any byte-order mark
for (const [d, c] of Object.entries(DESCR_OF)) if (c.startsWith("|")) DTYPE_OF.set(`<${c.slice(1)}`, d as DType);

/** Reads a .npy file into a tensor (little-endian numeric and bool arrays, C or Fortran order). */
export function readNpy(file: string): Tensor {
  if (!existsSync(file))
    throw new Error(`readNpy(${file}): no such file; check the path (facekd embed writes embeddings as .npy)`);
  return parseNpy(readFileSync(file), file);
}

export interface NpyHeader {
  dtype: DType;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the first element. */
  dataStart: number;
}

/** Parses the header at the start of `bytes`, which must hold at least the whole header. */
export function parseNpyHeader(bytes: Uint8Array, source = "<npy bytes>"): NpyHeader {
  const fail = (what: string): never => {
    throw new Error(`readNpy(${source}): ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a .npy file (no \\x93NUMPY magic)");
  const major = bytes[6]!;
  if (major < 1 || major > 3) fail(`unsupported .npy version ${major}.${bytes[7]}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const [headerLength, headerStart] = major === 1 ? [view.getUint16(8, true), 10] : [view.getUint32(8, true), 12];
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail("the file is truncated inside its header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, dataStart));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1] ?? fail(`no 'descr' in the header ${header.trim()}`);
  const dtype =
    DTYPE_OF.get(descr) ??
    fail(
      `unsupported element type '${descr}'` +
        (descr.startsWith(">")
          ? " (big-endian: save it little-endian with arr.astype(arr.dtype.newbyteorder('<')))"
          : "") +
        `; supported: ${[...DTYPE_OF.keys()].join(", ")}`,
    );
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1] ?? fail("no 'fortran_order' in the header");
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail("no 'shape' in the header");
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) fail(`bad shape (${shapeText})`);
  return { dtype, shape, fortranOrder: fortran === "True", dataStart };
}

export function parseNpy(bytes: Uint8Array, source = "<npy bytes>"): Tensor {
  const { dtype, shape, fortranOrder, dataStart } = parseNpyHeader(bytes, source);
  const numel = shape.reduce((a, b) => a * b, 1);
  const itemBytes = DTYPE_BYTES[dtype];
  const dataEnd = dataStart + numel * itemBytes;
  if (dataEnd > bytes.length) {
    throw new Error(`readNpy(${source}): the data is truncated: ${numel} x ${itemBytes} bytes expected`);
  }
  const data = new Uint8Array(bytes.subarray(dataStart, dataEnd)).buffer; // a copy, aligned for the typed array
  const elements = typedArrayFromBytes(dtype, data);
  if (!fortranOrder) return torch.tensor(elements, { shape, dtype });
  return torch.tidy(() =>
    torch
      .tensor(elements, { shape: [...shape].reverse(), dtype })
      .permute(shape.map((_, i) => shape.length - 1 - i))
      .contiguous(),
  );
}

/** Writes a tensor as a C-order, little-endian .npy file (version 1.0), atomically. */
export function writeNpy(file: string, tensor: Tensor): void {
  const bytes = encodeNpy(tensor);
  writeAtomically(file, (fd) => void writeSync(fd, bytes));
}

/** A version 1.0 header for a C-order array, padded so that the data starts at a multiple of 64 bytes. */
export function encodeNpyHeader(dtype: DType, shape: readonly number[]): Uint8Array {
  const descr = DESCR_OF[dtype];
  if (descr === undefined) {
    throw new Error(`writeNpy: numpy has no ${dtype} type; convert the tensor first (e.g. t.float())`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length);
  out.set(MAGIC);
  out.set([1, 0, header.length & 0xff, header.length >> 8], 6);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

export function encodeNpy(tensor: Tensor): Uint8Array {
  const header = encodeNpyHeader(tensor.dtype, tensor.shape);
  const data = torch.tidy(() => tensor.cpu().contiguous().data());
  const out = new Uint8Array(header.length + data.byteLength);
  out.set(header);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), header.length);
  return out;
}
