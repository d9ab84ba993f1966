// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a
// JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } } padded with
// spaces to a multiple of 8 bytes, then the tensors' bytes, row-major and little-endian, with no gaps.
//
// facekd's files also carry `"facekd.checksum": "sha256:<hex>"` in __metadata__ (a string, as the format demands,
// so every safetensors reader still opens them): the SHA-256 of the whole file as written with the 64 hex digits
// all "0". It covers the header as well as the data, so a damaged name, dtype or shape cannot pass either.
import { createHash, type Hash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { writeAtomically } from "./atomic.js";
import { DTYPE_BYTES, Tensor, fromBytes, tidy, type DType } from "../torch/index.js";

export interface SafetensorsContents {
  /** The tensors in header order (JSON puts integer-like names such as "0" first, in numeric order). */
  tensors: Map<string, Tensor>;
  /** The metadata, less facekd.checksum. */
  metadata: Record<string, string>;
  /** The verified `sha256:<hex>` of a file facekd wrote; undefined for files without one (written by others). */
  checksum?: string;
}

const CODE_OF: Record<DType, string> = {
  float32: "F32",
  float16: "F16",
  bfloat16: "BF16",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  bool: "BOOL",
};
const DTYPE_OF = new Map<string, DType>(Object.entries(CODE_OF).map(([d, c]) => [c, d as DType]));

const METADATA_KEY = "__metadata__";
export const CHECKSUM_KEY = "facekd.checksum";
const CHECKSUM_PREFIX = "sha256:";
const CHECKSUM_HEX = 64;
// where the checksum's hex digits sit in the header's JSON text: after this, exactly once
const CHECKSUM_NEEDLE = Buffer.from(`${JSON.stringify(CHECKSUM_KEY)}:"${CHECKSUM_PREFIX}`);
// the reference implementation refuses larger headers; so do we, before allocating one
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Writes `tensors` (and optional string `metadata`) to `file` in the safetensors format, with its checksum. The
 * file is written to a temporary name beside it and renamed into place, so a crash leaves either the old file or
 * the new one.
 */
export function saveSafetensors(
  file: string,
  tensors: Map<string, Tensor> | Record<string, Tensor>,
  metadata?: Record<string, string>,
): void {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") {
        throw new TypeError(
          `saveSafetensors(${file}): metadata '${k}' is a ${typeof v}; safetensors stores strings only`,
        );
      }
      if (k === CHECKSUM_KEY) throw new Error(`saveSafetensors(${file}): metadata '${k}' is reserved for the checksum`);
    }
  }
  header[METADATA_KEY] = { ...metadata, [CHECKSUM_KEY]: CHECKSUM_PREFIX + "0".repeat(CHECKSUM_HEX) };
  const layout: { name: string; tensor: Tensor; bytes: number }[] = [];
  for (const [name, t] of entries) {
    if (name === METADATA_KEY || name === "") {
      throw new Error(`saveSafetensors(${file}): '${name}' cannot name a tensor (it is reserved or empty)`);
    }
    if (!(t instanceof Tensor)) throw new TypeError(`saveSafetensors(${file}): '${name}' is not a Tensor`);
    const dtype = t.dtype;
    header[name] = { dtype: CODE_OF[dtype], shape: t.shape, data_offsets: [0, 0] };
    layout.push({ name, tensor: t, bytes: t.numel() * DTYPE_BYTES[dtype] });
  }
  // Data in order of decreasing element size (stable) keeps every tensor aligned to its element size, as the
  // reference writer does; readers such as PyTorch's view(dtype) need that alignment.
  const dataOrder = [...layout].sort((a, b) => DTYPE_BYTES[b.tensor.dtype] - DTYPE_BYTES[a.tensor.dtype]);
  let offset = 0;
  for (const item of dataOrder) {
    (header[item.name] as { data_offsets: number[] }).data_offsets = [offset, offset + item.bytes];
    offset += item.bytes;
  }

  const json = Buffer.from(JSON.stringify(header), "utf8");
  const padded = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  const digits = 8 + json.indexOf(CHECKSUM_NEEDLE) + CHECKSUM_NEEDLE.length;

  writeAtomically(file, (fd) => {
    const hash = createHash("sha256").update(head);
    writeAll(fd, head);
    for (const item of dataOrder) {
      const bytes = item.tensor.bytes();
      if (bytes.length !== item.bytes) {
        throw new Error(
          `saveSafetensors(${file}): tensor '${item.name}' gave ${bytes.length} bytes, expected ${item.bytes}`,
        );
      }
      hash.update(bytes);
      writeAll(fd, bytes);
    }
    head.write(hash.digest("hex"), digits, "latin1");
    writeAll(fd, head, 0);
  });
}

/** A tensor as a safetensors header describes it: its element type and shape. */
export interface TensorHeader {
  dtype: DType;
  shape: number[];
}

/**
 * The tensors' names, types and shapes and the metadata of a safetensors file, from its header alone (validated
 * against the file's size, as loadSafetensors does; the data and its checksum are not read).
 */
export function readSafetensorsHeader(file: string): {
  tensors: Map<string, TensorHeader>;
  metadata: Record<string, string>;
} {
  const fd = openSync(file, "r");
  try {
    const { entries, metadata } = readHeader(fd, file);
    delete metadata[CHECKSUM_KEY];
    return { tensors: new Map(entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }])), metadata };
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a safetensors file, validating its header against the file, and the file against its checksum when it
 * has one (files facekd wrote).
 */
export function loadSafetensors(file: string): SafetensorsContents {
  const fail = failIn(file);
  const fd = openSync(file, "r");
  try {
    const { entries, metadata, lengthBytes, headerBytes, dataStart } = readHeader(fd, file);
    const checksum = metadata[CHECKSUM_KEY];
    delete metadata[CHECKSUM_KEY];
    const hash = checksum === undefined ? undefined : startChecksum(lengthBytes, headerBytes, checksum, fail);

    const tensors = tidy(() => {
      // read in data order (the layout covers the data section exactly) so that the hash sees the file's bytes
      const read = new Map<string, Tensor>();
      for (const e of [...entries].sort((a, b) => a.begin - b.begin)) {
        const bytes = readAt(fd, e.end - e.begin, dataStart + e.begin);
        hash?.update(bytes);
        read.set(e.name, fromBytes(bytes, e.dtype, e.shape));
      }
      if (hash !== undefined && CHECKSUM_PREFIX + hash.digest("hex") !== checksum) {
        fail(
          `the file does not match the checksum in its metadata (${CHECKSUM_KEY}): it is damaged; use another ` +
            "copy, or rerun what wrote it",
        );
      }
      return new Map(entries.map((e) => [e.name, read.get(e.name)!]));
    });
    return { tensors, metadata, ...(checksum === undefined ? {} : { checksum }) };
  } finally {
    closeSync(fd);
  }
}

const failIn =
  (file: string) =>
  (message: string): never => {
    throw new Error(`loadSafetensors(${file}): ${message}`);
  };

// The header of the open file, validated against its size: the entries, the metadata (checksum included) and the
// header's bytes as read.
function readHeader(
  fd: number,
  file: string,
): { entries: Entry[]; metadata: Record<string, string>; lengthBytes: Buffer; headerBytes: Buffer; dataStart: number } {
  const fail = failIn(file);
  const size = fstatSync(fd).size;
  if (size < 8) fail(`the file has ${size} bytes, too few for a safetensors header length`);
  const lengthBytes = readAt(fd, 8, 0);
  const headerLength = lengthBytes.readBigUInt64LE(0);
  if (headerLength > BigInt(size - 8)) {
    fail(
      `the header length ${headerLength} runs past the end of the file (${size} bytes): truncated or not safetensors`,
    );
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`the header length ${headerLength} is over ${MAX_HEADER_BYTES}`);
  const dataStart = 8 + Number(headerLength);
  const dataLength = size - dataStart;

  const headerBytes = readAt(fd, Number(headerLength), 8);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (error) {
    fail(`the header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("the header is not a JSON object");

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail("__metadata__ is not an object");
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ entry '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.push(parseEntry(name, info, dataLength, (m) => fail(`tensor '${name}': ${m}`)));
  }
  checkLayout(entries, dataLength, fail);
  return { entries, metadata, lengthBytes, headerBytes, dataStart };
}

// A hash fed with the header as written (the checksum's digits zeroed); the caller adds the data section.
function startChecksum(lengthBytes: Buffer, headerBytes: Buffer, checksum: string, fail: (m: string) => never): Hash {
  const digits = headerBytes.indexOf(CHECKSUM_NEEDLE) + CHECKSUM_NEEDLE.length;
  if (
    !new RegExp(`^${CHECKSUM_PREFIX}[0-9a-f]{${CHECKSUM_HEX}}$`).test(checksum) ||
    digits < CHECKSUM_NEEDLE.length ||
    headerBytes.indexOf(CHECKSUM_NEEDLE, digits) >= 0 ||
    headerBytes.toString("latin1", digits - CHECKSUM_PREFIX.length, digits + CHECKSUM_HEX) !== checksum
  ) {
    fail(`__metadata__ '${CHECKSUM_KEY}' is not a single "${CHECKSUM_PREFIX}<64 hex digits>": the header is damaged`);
  }
  const zeroed = Buffer.from(headerBytes);
  zeroed.fill("0", digits, digits + CHECKSUM_HEX);
  return createHash("sha256").update(lengthBytes).update(zeroed);
}

function parseEntry(name: string, info: unknown, dataLength: number, fail: (m: string) => never): Entry {
  if (typeof info !== "object" || info === null || Array.isArray(info)) fail("its header entry is not an object");
  const { dtype: code, shape, data_offsets: offsets } = info as Record<string, unknown>;
  const dtype = typeof code === "string" ? DTYPE_OF.get(code) : undefined;
  if (dtype === undefined) {
    fail(`unknown or unsupported dtype ${JSON.stringify(code)} (supported: ${[...DTYPE_OF.keys()].join(", ")})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`shape ${JSON.stringify(shape)} is not a list of sizes`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of byte offsets`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    fail(`data_offsets [${begin}, ${end}] fall outside the data section of ${dataLength} bytes`);
  }
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end - begin !== expected) {
    fail(`holds ${end - begin} bytes but shape [${shape.join(", ")}] of ${code} needs ${expected}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

// The data section must be covered exactly: no overlaps (aliasing) and no holes, as the reference reader demands.
function checkLayout(entries: Entry[], dataLength: number, fail: (m: string) => never): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: Entry | undefined;
  for (const e of sorted) {
    if (e.begin < covered) {
      fail(
        `tensor '${e.name}' (bytes ${e.begin}-${e.end}) overlaps tensor '${last!.name}' (bytes ${last!.begin}-${last!.end})`,
      );
    }
    if (e.begin > covered)
      fail(`bytes ${covered}-${e.begin} of the data section belong to no tensor (before '${e.name}')`);
    covered = e.end;
    last = e;
  }
  if (covered !== dataLength) {
    fail(`the data section has ${dataLength} bytes but the tensors cover ${covered}: extra bytes at the end`);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

// (the file is open: it can only come up short if something truncates it meanwhile)
function readAt(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
  return buf;
}

/** Writes all of `bytes`, at `position` when given (else at the file's current position). */
function writeAll(fd: number, bytes: Uint8Array, position?: number): void {
  let done = 0;
  while (done < bytes.length) {
    done += writeSync(fd, bytes, done, bytes.length - done, position === undefined ? null : position + done);
  }
}
