// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a
// JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } } padded with
// spaces to a multiple of 8 bytes, then the tensors' bytes, row-major and little-endian, with no gaps.
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { writeAtomically } from "./atomic.js";
import { DTYPE_BYTES, Tensor, fromBytes, tidy, type DType } from "../torch/index.js";

export interface SafetensorsContents {
  /** The tensors in header order (JSON puts integer-like names such as "0" first, in numeric order). */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
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
 * Writes `tensors` (and optional string `metadata`) to `file` in the safetensors format. The file is written to
 * a temporary name beside it and renamed into place, so a crash leaves either the old file or the new one.
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
    }
    header[METADATA_KEY] = metadata;
  }
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

  writeAtomically(file, (fd) => {
    writeAll(fd, head);
    for (const item of dataOrder) {
      const bytes = item.tensor.bytes();
      if (bytes.length !== item.bytes) {
        throw new Error(
          `saveSafetensors(${file}): tensor '${item.name}' gave ${bytes.length} bytes, expected ${item.bytes}`,
        );
      }
      writeAll(fd, bytes);
    }
  });
}

/** Reads a safetensors file, validating its header against the file. */
export function loadSafetensors(file: string): SafetensorsContents {
  function fail(message: string): never {
    throw new Error(`loadSafetensors(${file}): ${message}`);
  }
  const fd = openSync(file, "r");
  try {
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

    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(readAt(fd, Number(headerLength), 8)));
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

    const tensors = tidy(() => {
      const out = new Map<string, Tensor>();
      for (const e of entries) {
        const bytes = readAt(fd, e.end - e.begin, dataStart + e.begin);
        out.set(e.name, fromBytes(bytes, e.dtype, e.shape));
      }
      return out;
    });
    return { tensors, metadata };
  } finally {
    closeSync(fd);
  }
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

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}
