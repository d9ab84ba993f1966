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

// numpy's default max_header_size: longer headers are refused unless the file is trusted (allow_pickle)
const MAX_HEADER_CHARS = 10_000;
// numpy aligns the data to 64 bytes since 1.14 and to 16 before; other writers (cnpy) to 16
const DATA_ALIGN = 16;

/**
 * Parses and checks the header at the start of `bytes` (which must hold at least the whole header) of a file of
 * `fileSize` bytes: the version (1.0, 2.0 or 3.0), the header's Python dict literal with exactly the keys descr,
 * fortran_order and shape, its padding, and a file size of exactly the header plus the elements. Anything numpy
 * would refuse is refused, and more (see the README's guarantees).
 */
export function parseNpyHeader(bytes: Uint8Array, source: string, fileSize: number): NpyHeader {
  const fail = (what: string): never => {
    throw new Error(`readNpy(${source}): ${what}`);
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a .npy file (no \\x93NUMPY magic)");
  const [major, minor] = [bytes[6]!, bytes[7]!];
  if (major < 1 || major > 3 || minor !== 0)
    fail(`unsupported .npy version ${major}.${minor} (numpy writes 1.0, 2.0, 3.0)`);
  const headerStart = major === 1 ? 10 : 12;
  if (bytes.length < headerStart) fail(`the file ends at byte ${bytes.length}, inside its header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > MAX_HEADER_CHARS) {
    fail(`the header length ${headerLength} is over numpy's limit of ${MAX_HEADER_CHARS}: the file is damaged`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) fail(`the file is truncated inside its header (${headerLength} bytes announced)`);
  let header = "";
  try {
    header = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(
      bytes.subarray(headerStart, dataStart),
    );
  } catch {
    fail("the header of a version 3.0 file is not UTF-8");
  }
  const { descr, fortranOrder, shape } = parseHeaderDict(header, major < 3, fail);
  if (dataStart % DATA_ALIGN !== 0) {
    fail(
      `the data starts at byte ${dataStart}, not at a multiple of ${DATA_ALIGN} as numpy pads it: the header length ` +
        "is damaged, or another writer made the file (save it again with numpy.save)",
    );
  }
  const dtype =
    DTYPE_OF.get(descr) ??
    fail(
      `unsupported element type '${descr}'` +
        (descr.startsWith(">")
          ? " (big-endian: save it little-endian with arr.astype(arr.dtype.newbyteorder('<')))"
          : "") +
        `; supported: ${[...DTYPE_OF.keys()].join(", ")}`,
    );
  const dataBytes = shape.reduce((a, b) => a * b, DTYPE_BYTES[dtype]);
  const shapeText = `(${shape.join(", ")}${shape.length === 1 ? "," : ""})`;
  if (!Number.isSafeInteger(dataBytes)) fail(`shape ${shapeText} is impossibly large: the header is damaged`);
  const found = fileSize - dataStart;
  if (found !== dataBytes) {
    fail(
      `shape ${shapeText} of ${descr} needs ${dataBytes} bytes of data, but the file holds ${found} after its header: ` +
        (found < dataBytes ? "it is truncated (an interrupted copy?)" : "it is damaged or has been appended to") +
        "; re-copy it or write it again",
    );
  }
  return { dtype, shape, fortranOrder, dataStart };
}

/**
 * The header text as numpy writes it: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`, padded with
 * spaces and ended by a newline. The grammar is the part of Python's literal syntax that numpy's reader accepts
 * for the three keys: quoted strings without escapes, True/False, a tuple of decimal integers (with Python 2's L
 * suffix in versions 1 and 2), each key exactly once, in any order, whitespace between tokens.
 */
function parseHeaderDict(
  text: string,
  allowLongSuffix: boolean,
  fail: (what: string) => never,
): { descr: string; fortranOrder: boolean; shape: number[] } {
  let at = 0;
  const bad = (what: string): never =>
    fail(`the header ${JSON.stringify(text.trimEnd())} is not a valid .npy header: ${what} at character ${at}`);
  const skip = (): void => {
    while (at < text.length && " \t\n\r\f".includes(text[at]!)) at++;
  };
  const expect = (c: string): void => {
    skip();
    if (text[at] !== c) bad(`expected '${c}'`);
    at++;
  };
  const peek = (c: string): boolean => {
    skip();
    return text[at] === c;
  };
  const string = (): string => {
    skip();
    const quote = text[at];
    if (quote !== "'" && quote !== '"') bad("expected a quoted string");
    const end = text.indexOf(quote!, at + 1);
    if (end < 0) bad("unterminated string");
    const value = text.slice(at + 1, end);
    if (/[\\\n]/.test(value)) bad("escapes and line breaks are not allowed in a string");
    at = end + 1;
    return value;
  };
  const word = (pattern: RegExp, what: string): string => {
    skip();
    pattern.lastIndex = at;
    const match = pattern.exec(text) ?? bad(`expected ${what}`);
    at += match[0].length;
    return match[0];
  };
  const integer = (): number => {
    const digits = word(
      allowLongSuffix ? /(0|[1-9][0-9]*)L?(?![0-9A-Za-z_.])/y : /(0|[1-9][0-9]*)(?![0-9A-Za-z_.])/y,
      "an integer",
    );
    return Number(digits.replace("L", ""));
  };

  const values = new Map<string, unknown>();
  expect("{");
  while (!peek("}")) {
    const key = string();
    if (values.has(key)) bad(`the key '${key}' appears twice`);
    expect(":");
    if (key === "descr") values.set(key, string());
    else if (key === "fortran_order")
      values.set(key, word(/(True|False)(?![0-9A-Za-z_])/y, "True or False") === "True");
    else if (key === "shape") {
      const shape: number[] = [];
      expect("(");
      while (!peek(")")) {
        shape.push(integer());
        if (peek(")")) {
          if (shape.length === 1) bad("a one-element shape needs its trailing comma, as in (5,)");
          break;
        }
        expect(",");
      }
      expect(")");
      values.set(key, shape);
    } else bad(`unexpected key '${key}' (a header has exactly descr, fortran_order and shape)`);
    if (peek("}")) break;
    expect(",");
  }
  expect("}");
  const padding = text.slice(at);
  if (!/^ *\n$/.test(padding)) bad("the header must end in spaces and one newline");
  for (const key of ["descr", "fortran_order", "shape"]) if (!values.has(key)) bad(`the key '${key}' is missing`);
  return {
    descr: values.get("descr") as string,
    fortranOrder: values.get("fortran_order") as boolean,
    shape: values.get("shape") as number[],
  };
}

export function parseNpy(bytes: Uint8Array, source = "<npy bytes>"): Tensor {
  const { dtype, shape, fortranOrder, dataStart } = parseNpyHeader(bytes, source, bytes.length);
  const data = new Uint8Array(bytes.subarray(dataStart)).buffer; // a copy, aligned for the typed array
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
