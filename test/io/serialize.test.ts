import { test } from "node:test";
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync, zipSync } from "fflate";
import * as torch from "../../src/torch/index.js";
import { Tensor } from "../../src/torch/tensor.js";
import {
  CHECKSUM_KEY,
  loadSafetensors,
  loadTorchFile,
  readSafetensorsHeader,
  readTorchFileHeader,
  saveSafetensors,
} from "../../src/io/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const fixture = (name: string): string => path.join(root, "test", "fixtures", name);
const dir = mkdtempSync(path.join(tmpdir(), "facekd-serialize-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

function disposeAll(tensors: Iterable<Tensor>): void {
  for (const t of tensors) t.dispose();
}

/** Asserts that fn throws an error whose message starts with `prefix` and matches `pattern`. */
function throwsWith(fn: () => unknown, prefix: string, pattern: RegExp): void {
  assert.throws(fn, (e: Error) => {
    assert.ok(e.message.startsWith(prefix), `message should start with ${prefix}: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------- safetensors

function sample(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ["f32", torch.tensor(new Float32Array([1.5, -2, 3.25, 1e-30, -0, 65536]), { shape: [2, 3] })],
    // float16 1, -2, 65504, 0.5 and bfloat16 1, -2, 3.140625 as raw words
    ["f16", torch.tensor(new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x3800]), { shape: [2, 2], dtype: "float16" })],
    ["bf16", torch.tensor(new Uint16Array([0x3f80, 0xc000, 0x4049]), { dtype: "bfloat16" })],
    ["f64", torch.tensor(new Float64Array([1e-300, -2.5]), { shape: [1, 2] })],
    ["i64", torch.tensor(new BigInt64Array([2n ** 40n + 1n, -5n, 0n]))],
    ["i32", torch.tensor(new Int32Array([-7, 2147483647]))],
    ["i16", torch.tensor(new Int16Array([-300, 300]))],
    ["i8", torch.tensor(new Int8Array([-128, 127]))],
    ["u8", torch.tensor(new Uint8Array([0, 255, 7]))],
    ["flags", torch.tensor(new Uint8Array([1, 0, 1]), { dtype: "bool" })],
    ["scalar", torch.tensor(new Float32Array([3.5]), { shape: [] })],
    ["count", torch.tensor(new BigInt64Array([7n]), { shape: [] })],
    ["empty", torch.zeros([0, 4])],
    ["empty_bool", torch.zeros([0], { dtype: "bool" })],
  ]);
}

test("safetensors: every dtype, 0-d and empty tensors and metadata round-trip", () => {
  const original = sample();
  const file = tmp("all.safetensors");
  saveSafetensors(file, original, { format: "pt", note: "h\u00e9llo" });
  const { tensors, metadata } = loadSafetensors(file);
  assert.deepEqual(metadata, { format: "pt", note: "h\u00e9llo" });
  assert.deepEqual([...tensors.keys()], [...original.keys()]);
  for (const [name, t] of original) {
    const back = tensors.get(name)!;
    assert.equal(back.dtype, t.dtype, name);
    assert.deepEqual(back.shape, t.shape, name);
    assert.deepEqual(back.data(), t.data(), name);
  }
  assert.deepEqual(tensors.get("f16")!.toNumbers(), [1, -2, 65504, 0.5]);
  assert.deepEqual(tensors.get("bf16")!.toNumbers(), [1, -2, 3.140625]);
  assert.deepEqual(tensors.get("flags")!.toNumbers(), [1, 0, 1]);
  disposeAll(original.values());
  disposeAll(tensors.values());
});

test("the headers of safetensors and torch.save files give the names, dtypes and shapes the loaders do", () => {
  const file = tmp("header.safetensors");
  const original = sample();
  saveSafetensors(file, original, { format: "pt" });
  disposeAll(original.values());
  for (const [header, read] of [
    [readSafetensorsHeader(file), loadSafetensors(file)],
    [
      { tensors: readTorchFileHeader(fixture("torch_mixed.pt")), metadata: {} },
      { tensors: loadTorchFile(fixture("torch_mixed.pt")), metadata: {} },
    ],
  ] as const) {
    assert.deepEqual(header.metadata, read.metadata);
    assert.deepEqual(
      [...header.tensors].map(([name, t]) => [name, t.dtype, t.shape]),
      [...read.tensors].map(([name, t]) => [name, t.dtype, t.shape]),
    );
    disposeAll(read.tensors.values());
  }
});

test("safetensors: a plain object works, and without metadata only the checksum is in __metadata__", () => {
  const file = tmp("record.safetensors");
  const a = torch.tensor([1, 2]);
  saveSafetensors(file, { a });
  const { tensors, metadata, checksum } = loadSafetensors(file);
  assert.deepEqual(metadata, {});
  assert.match(checksum!, /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(tensors.get("a")!.toNumbers(), [1, 2]);
  const header = JSON.parse(
    readFileSync(file)
      .subarray(8, 8 + Number(readFileSync(file).readBigUInt64LE(0)))
      .toString(),
  );
  assert.deepEqual(header["__metadata__"], { [CHECKSUM_KEY]: checksum });
  disposeAll([a, ...tensors.values()]);
});

test("safetensors: the bytes we write follow the spec's layout", () => {
  const file = tmp("layout.safetensors");
  const tensors = new Map<string, Tensor>([
    ["a", torch.tensor(new Float32Array([1.5, -2]))],
    ["b", torch.tensor(new BigInt64Array([7n]), { shape: [] })],
    ["c", torch.tensor(new Uint8Array([1, 2, 3]))],
    ["h", torch.tensor(new Uint16Array([0x3c00]), { dtype: "float16" })],
    ["t", torch.tensor(new Uint8Array([0, 1]), { dtype: "bool" })],
  ]);
  saveSafetensors(file, tensors, { format: "pt" });
  const bytes = readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + n) % 8, 0, "the data section starts 8-byte aligned");
  const headerText = bytes.subarray(8, 8 + n).toString("utf8");
  assert.match(headerText, /^\{.*\} *$/s, "the header is JSON padded with spaces");
  const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const { [CHECKSUM_KEY]: checksum, ...metadata } = header["__metadata__"] as unknown as Record<string, string>;
  assert.deepEqual(metadata, { format: "pt" });
  // the checksum is the SHA-256 of the file with its own 64 hex digits written as "0"
  const zeroed = Buffer.from(bytes);
  const at = zeroed.indexOf(checksum!);
  zeroed.fill("0", at + "sha256:".length, at + checksum!.length);
  assert.equal(checksum, "sha256:" + createHash("sha256").update(zeroed).digest("hex"));
  delete header["__metadata__"];
  const expected: Record<string, [string, number[], Buffer]> = {
    a: ["F32", [2], Buffer.from(new Float32Array([1.5, -2]).buffer)],
    b: ["I64", [], Buffer.from([7, 0, 0, 0, 0, 0, 0, 0])],
    c: ["U8", [3], Buffer.from([1, 2, 3])],
    h: ["F16", [1], Buffer.from([0x00, 0x3c])],
    t: ["BOOL", [2], Buffer.from([0, 1])],
  };
  const data = bytes.subarray(8 + n);
  const ranges: number[][] = [];
  for (const [name, [dtype, shape, content]] of Object.entries(expected)) {
    const info = header[name]!;
    assert.equal(info.dtype, dtype, name);
    assert.deepEqual(info.shape, shape, name);
    const [begin, end] = info.data_offsets as [number, number];
    assert.deepEqual(data.subarray(begin, end), content, name);
    ranges.push([begin, end]);
  }
  // every tensor aligned to its element size, the data section covered exactly
  assert.equal(header["a"]!.data_offsets[0]! % 4, 0);
  assert.equal(header["b"]!.data_offsets[0]! % 8, 0);
  assert.equal(header["h"]!.data_offsets[0]! % 2, 0);
  ranges.sort((x, y) => x[0]! - y[0]!);
  let covered = 0;
  for (const [begin, end] of ranges) {
    assert.equal(begin, covered);
    covered = end!;
  }
  assert.equal(covered, data.length);
  disposeAll(tensors.values());
});

/** A safetensors file from a header (object or raw text) and data, optionally lying about the header length. */
function writeRaw(name: string, header: object | string, data: Buffer, headerLength?: number): string {
  let json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  const file = tmp(name);
  writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

test("safetensors: a file built byte by byte from the spec reads correctly", () => {
  const header =
    '{"__metadata__":{"source":"hand"},' +
    '"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
    '"n":{"dtype":"I64","shape":[],"data_offsets":[16,24]},' +
    '"m":{"dtype":"BOOL","shape":[3],"data_offsets":[24,27]},' +
    '"e":{"dtype":"BF16","shape":[0,2],"data_offsets":[27,27]}}';
  const data = Buffer.alloc(27);
  [1, 2, 3, 4].forEach((v, i) => data.writeFloatLE(v, 4 * i));
  data.writeBigInt64LE(-9n, 16);
  data.set([1, 0, 1], 24);
  const file = writeRaw("hand.safetensors", header, data);
  const { tensors, metadata, checksum } = loadSafetensors(file);
  assert.deepEqual(metadata, { source: "hand" });
  assert.equal(checksum, undefined, "files written by others carry no checksum, and are accepted");
  assert.deepEqual([...tensors.keys()], ["w", "n", "m", "e"]);
  const w = tensors.get("w")!;
  assert.equal(w.dtype, "float32");
  assert.deepEqual(w.shape, [2, 2]);
  assert.deepEqual(w.toNumbers(), [1, 2, 3, 4]);
  const n = tensors.get("n")!;
  assert.equal(n.dtype, "int64");
  assert.deepEqual(n.shape, []);
  assert.deepEqual(n.data(), new BigInt64Array([-9n]));
  assert.equal(tensors.get("m")!.dtype, "bool");
  assert.deepEqual(tensors.get("m")!.toNumbers(), [1, 0, 1]);
  assert.equal(tensors.get("e")!.dtype, "bfloat16");
  assert.deepEqual(tensors.get("e")!.shape, [0, 2]);
  disposeAll(tensors.values());
});

test("safetensors: corrupt files give errors naming the file and the tensor", () => {
  const f32 = (shape: number[], offsets: number[]): object => ({ dtype: "F32", shape, data_offsets: offsets });
  const cases: [string, () => string, RegExp][] = [
    [
      "short",
      () => {
        writeFileSync(tmp("short.safetensors"), Buffer.from([1, 2, 3, 4]));
        return tmp("short.safetensors");
      },
      /has 4 bytes, too few/,
    ],
    [
      "length",
      () => writeRaw("length.safetensors", { x: f32([1], [0, 4]) }, Buffer.alloc(4), 1000),
      /header length 1000 runs past the end of the file/,
    ],
    ["json", () => writeRaw("json.safetensors", '{"x": [', Buffer.alloc(0)), /header is not valid UTF-8 JSON/],
    [
      "dtype",
      () =>
        writeRaw("dtype.safetensors", { x: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, Buffer.alloc(1)),
      /tensor 'x': unknown or unsupported dtype "F8_E4M3"/,
    ],
    [
      "range",
      () => writeRaw("range.safetensors", { x: f32([2], [0, 8]) }, Buffer.alloc(4)),
      /tensor 'x': data_offsets \[0, 8\] fall outside the data section of 4 bytes/,
    ],
    [
      "overlap",
      () => writeRaw("overlap.safetensors", { x: f32([2], [0, 8]), y: f32([2], [4, 12]) }, Buffer.alloc(12)),
      /tensor 'y' \(bytes 4-12\) overlaps tensor 'x' \(bytes 0-8\)/,
    ],
    [
      "size",
      () => writeRaw("size.safetensors", { x: f32([3], [0, 8]) }, Buffer.alloc(8)),
      /tensor 'x': holds 8 bytes but shape \[3\] of F32 needs 12/,
    ],
    [
      "shape",
      () => writeRaw("shape.safetensors", { x: f32([-1], [0, 4]) }, Buffer.alloc(4)),
      /tensor 'x': shape \[-1\] is not a list of sizes/,
    ],
    [
      "hole",
      () => writeRaw("hole.safetensors", { x: f32([1], [4, 8]) }, Buffer.alloc(8)),
      /bytes 0-4 of the data section belong to no tensor \(before 'x'\)/,
    ],
    [
      "trailing",
      () => writeRaw("trailing.safetensors", { x: f32([1], [0, 4]) }, Buffer.alloc(8)),
      /has 8 bytes but the tensors cover 4/,
    ],
    [
      "metadata",
      () => writeRaw("metadata.safetensors", { __metadata__: { k: 1 }, x: f32([1], [0, 4]) }, Buffer.alloc(4)),
      /__metadata__ entry 'k' is not a string/,
    ],
  ];
  for (const [, make, pattern] of cases) {
    const file = make();
    throwsWith(() => loadSafetensors(file), `loadSafetensors(${file}): `, pattern);
  }
});

test("safetensors: the checksum catches damage to the data and to the header", () => {
  const file = tmp("sum.safetensors");
  const a = torch.tensor(new Float32Array([1, 2, 3, 4]));
  const b = torch.tensor(new Int32Array([5, 6, 7, 8]));
  saveSafetensors(file, { a, b }, { note: "x" });
  disposeAll([a, b]);
  const clean = readFileSync(file);
  const edits: [string, (bytes: Buffer) => void][] = [
    ["a data bit", (bytes) => void bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 4, bytes.length - 3)],
    ["a dtype of the same size", (bytes) => void bytes.write("I32", bytes.indexOf('"F32"') + 1)],
    ["a tensor's name", (bytes) => void bytes.write("c", bytes.indexOf('"a"') + 1)],
    ["a metadata value", (bytes) => void bytes.write("y", bytes.indexOf('"x"') + 1)],
    ["the checksum itself", (bytes) => void bytes.write("f", bytes.indexOf("sha256:") + 7)],
  ];
  for (const [what, edit] of edits) {
    const bytes = Buffer.from(clean);
    edit(bytes);
    assert.notDeepEqual(bytes, clean, what);
    writeFileSync(file, bytes);
    throwsWith(
      () => loadSafetensors(file),
      `loadSafetensors(${file}): `,
      /does not match the checksum in its metadata/,
    );
  }
  const bad = Buffer.from(clean);
  bad.write("g", bad.indexOf("sha256:") + 7);
  writeFileSync(file, bad);
  throwsWith(
    () => loadSafetensors(file),
    `loadSafetensors(${file}): `,
    /'facekd\.checksum' is not a single "sha256:<64 hex digits>"/,
  );
});

test("safetensors: saving rejects what the format cannot hold", () => {
  const t = torch.tensor([1]);
  const file = tmp("bad.safetensors");
  throwsWith(() => saveSafetensors(file, { __metadata__: t }), `saveSafetensors(${file}): `, /reserved/);
  throwsWith(
    () => saveSafetensors(file, { t }, { epoch: 3 } as unknown as Record<string, string>),
    `saveSafetensors(${file}): `,
    /metadata 'epoch' is a number/,
  );
  throwsWith(() => saveSafetensors(file, { t }, { [CHECKSUM_KEY]: "mine" }), `saveSafetensors(${file}): `, /reserved/);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(".bad")),
    [],
  );
  t.dispose();
});

// A tensor whose data cannot be read once the temporary file exists: a crash in the middle of a save.
class CrashingTensor extends Tensor {
  override get handle(): ReturnType<Tensor["takeHandle"]> {
    if (readdirSync(dir).some((f) => f.endsWith(".tmp"))) throw new Error("simulated crash while writing");
    return super.handle;
  }
}

test("safetensors: a save that fails midway leaves the previous file intact and no temporary file", () => {
  const file = tmp("atomic.safetensors");
  const first = torch.tensor([1, 2, 3]);
  saveSafetensors(file, { w: first });
  const before = readFileSync(file);
  const crashing = new CrashingTensor(torch.tensor([4, 5, 6]).takeHandle());
  assert.throws(() => saveSafetensors(file, { w: first, v: crashing }), /simulated crash while writing/);
  assert.deepEqual(readFileSync(file), before);
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
  );
  // and a successful save replaces it
  saveSafetensors(file, { w: torch.tensor([9]) });
  const { tensors } = loadSafetensors(file);
  assert.deepEqual(tensors.get("w")!.toNumbers(), [9]);
  disposeAll([first, crashing, ...tensors.values()]);
});

// ---------------------------------------------------------------------------------------------- torch.save files

test("torch file: the arcface_torch MobileFaceNet state dict loads with PyTorch's names, shapes and dtypes", () => {
  const sd = loadTorchFile(fixture("mbf_backbone.pth"));
  assert.equal(sd.size, 333);
  const names = [...sd.keys()];
  assert.deepEqual(names.slice(0, 6), [
    "layers.0.layers.0.weight",
    "layers.0.layers.1.weight",
    "layers.0.layers.1.bias",
    "layers.0.layers.1.running_mean",
    "layers.0.layers.1.running_var",
    "layers.0.layers.1.num_batches_tracked",
  ]);
  assert.equal(names.at(-1), "features.layers.3.num_batches_tracked");
  const shapeOf = (k: string): number[] => sd.get(k)!.shape;
  assert.deepEqual(shapeOf("layers.0.layers.0.weight"), [128, 3, 3, 3]);
  assert.deepEqual(shapeOf("layers.0.layers.2.weight"), [128]);
  assert.deepEqual(shapeOf("features.layers.0.layers.0.weight"), [512, 1, 7, 7]);
  assert.deepEqual(shapeOf("features.layers.2.weight"), [512, 512]);
  let floats = 0;
  let counters = 0;
  for (const [k, t] of sd) {
    if (k.endsWith("num_batches_tracked")) {
      assert.equal(t.dtype, "int64", k);
      assert.deepEqual(t.shape, [], k);
      counters++;
    } else {
      assert.equal(t.dtype, "float32", k);
      floats++;
    }
  }
  assert.equal(counters, 50);
  assert.equal(floats, 283);

  // values read once with Python: torch.load(path)[name].flatten()[:k].tolist()
  const head = (k: string, n: number): number[] => Array.from(sd.get(k)!.data() as Float32Array).slice(0, n);
  assert.deepEqual(
    head("layers.0.layers.0.weight", 5),
    [0.00478350417688489, -0.0059868572279810905, -0.008263058960437775, 0.027555622160434723, -0.06844398379325867],
  );
  assert.deepEqual(
    head("layers.0.layers.1.running_var", 5),
    [0.7385316491127014, 0.7412352561950684, 0.7457918524742126, 0.7445014119148254, 0.7438126802444458],
  );
  assert.deepEqual(
    head("features.layers.2.weight", 4),
    [-0.03497510775923729, 0.05222008004784584, 0.028904184699058533, 0.07890814542770386],
  );
  assert.deepEqual(
    Array.from(sd.get("features.layers.2.weight")!.data() as Float32Array).slice(-2),
    [0.0837109312415123, 0.07133476436138153],
  );
  assert.deepEqual(head("layers.0.layers.2.weight", 3), [0.25, 0.25, 0.25]);
  const sum = (sd.get("layers.0.layers.0.weight")!.data() as Float32Array).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1.6779133497448129) < 1e-6, `sum ${sum}`);
  assert.deepEqual(sd.get("features.layers.3.num_batches_tracked")!.data(), new BigInt64Array([3n]));

  // and it survives a safetensors round trip unchanged
  const file = tmp("mbf.safetensors");
  saveSafetensors(file, sd);
  const back = loadSafetensors(file).tensors;
  assert.deepEqual([...back.keys()], names);
  for (const [k, t] of sd) assert.deepEqual(back.get(k)!.data(), t.data(), k);
  disposeAll(sd.values());
  disposeAll(back.values());
});

// test/fixtures/torch_mixed.pt was made with Python's torch 1.13:
//   base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
//   sd = OrderedDict(w=base, w_t=base.t(), row2=base[2], col1=base[:, 1], p=nn.Parameter(tensor([1.5, -2.0])),
//     half=tensor([1.0, -0.5, 65504.0], float16), bf16=tensor([1.0, 3.140625, -2.5], bfloat16),
//     f64=tensor([[1e-300, -2.5]], float64), i32=tensor([-7, 2**31 - 1], int32), i16=tensor([-300, 300], int16),
//     i8=tensor([-128, 127], int8), u8=tensor([0, 255], uint8), flags=tensor([True, False, True]), count=tensor(7),
//     big=tensor([2**40 + 1, -5]), empty=zeros(0, 3))
//   torch.save({"state_dict": sd, "epoch": 3, "name": "mixed", "history": [0.5, 0.25],
//               "optimizer": {"lr": 0.1, "state": {0: {"momentum_buffer": torch.ones(2)}}}}, "torch_mixed.pt")
test("torch file: a checkpoint with nested dicts, shared storages, views and every storage type", () => {
  const sd = loadTorchFile(fixture("torch_mixed.pt"));
  const s = (k: string): string => `state_dict.${k}`;
  assert.deepEqual(
    [...sd.keys()],
    [
      ...["w", "w_t", "row2", "col1", "p", "half", "bf16", "f64", "i32", "i16", "i8", "u8", "flags", "count"].map(s),
      ...["big", "empty"].map(s),
      "optimizer.state.0.momentum_buffer",
    ],
  );
  const get = (k: string): Tensor => sd.get(k)!;
  const range = (from: number, to: number, step = 1): number[] =>
    Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);
  assert.deepEqual(get(s("w")).toNumbers(), range(0, 24));
  assert.deepEqual(get(s("w_t")).shape, [6, 4]);
  assert.deepEqual(get(s("w_t")).toNumbers().slice(0, 8), [0, 6, 12, 18, 1, 7, 13, 19]);
  assert.deepEqual(get(s("row2")).toNumbers(), range(12, 18));
  assert.deepEqual(get(s("col1")).toNumbers(), [1, 7, 13, 19]);
  for (const k of ["w_t", "row2", "col1"]) assert.ok(get(s(k)).isContiguous(), k);
  // copies, not views of one storage
  get(s("w")).fill_(-1);
  assert.deepEqual(get(s("row2")).toNumbers(), range(12, 18));
  assert.deepEqual(get(s("p")).toNumbers(), [1.5, -2]);
  const dtypes: Record<string, [string, number[] | bigint[]]> = {
    half: ["float16", [1, -0.5, 65504]],
    bf16: ["bfloat16", [1, 3.140625, -2.5]],
    f64: ["float64", [1e-300, -2.5]],
    i32: ["int32", [-7, 2147483647]],
    i16: ["int16", [-300, 300]],
    i8: ["int8", [-128, 127]],
    u8: ["uint8", [0, 255]],
    flags: ["bool", [1, 0, 1]],
  };
  for (const [k, [dtype, values]] of Object.entries(dtypes)) {
    assert.equal(get(s(k)).dtype, dtype, k);
    assert.deepEqual(get(s(k)).toNumbers(), values, k);
  }
  assert.deepEqual(get(s("f64")).shape, [1, 2]);
  assert.equal(get(s("count")).dtype, "int64");
  assert.deepEqual(get(s("count")).shape, []);
  assert.deepEqual(get(s("count")).data(), new BigInt64Array([7n]));
  assert.deepEqual(get(s("big")).data(), new BigInt64Array([2n ** 40n + 1n, -5n]));
  assert.deepEqual(get(s("empty")).shape, [0, 3]);
  assert.equal(get(s("empty")).dtype, "float32");
  assert.deepEqual(get("optimizer.state.0.momentum_buffer").toNumbers(), [1, 1]);
  disposeAll(sd.values());
});

function zipWith(name: string, entries: Record<string, Uint8Array>): string {
  const file = tmp(name);
  writeFileSync(file, zipSync(entries, { level: 0 }));
  return file;
}

// the fixture's entries, to remove or damage some
function mixedEntries(): Record<string, Uint8Array> {
  return unzipSync(readFileSync(fixture("torch_mixed.pt")));
}

test("torch file: broken or unsupported files give errors naming the file and the entry", () => {
  const garbage = tmp("garbage.pth");
  writeFileSync(garbage, Buffer.from("hello world, not a checkpoint"));
  throwsWith(() => loadTorchFile(garbage), `loadTorchFile(${garbage}): `, /not a zip archive/);

  const legacy = tmp("legacy.pth");
  writeFileSync(legacy, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
  throwsWith(() => loadTorchFile(legacy), `loadTorchFile(${legacy}): `, /legacy torch\.save format/);

  const cut = tmp("cut.pth");
  const whole = readFileSync(fixture("mbf_backbone.pth"));
  writeFileSync(cut, whole.subarray(0, whole.length >> 1));
  throwsWith(() => loadTorchFile(cut), `loadTorchFile(${cut}): `, /no zip end-of-central-directory record closes/);

  const entries = mixedEntries();
  delete entries["torch_mixed/data/3"];
  const missing = zipWith("missing.pt", entries);
  throwsWith(
    () => loadTorchFile(missing),
    `loadTorchFile(${missing}): `,
    /tensor 'state_dict\.\w+' needs the missing entry torch_mixed\/data\/3/,
  );

  const short = mixedEntries();
  short["torch_mixed/data/0"] = short["torch_mixed/data/0"]!.subarray(0, 10);
  const shortFile = zipWith("short.pt", short);
  throwsWith(
    () => loadTorchFile(shortFile),
    `loadTorchFile(${shortFile}): `,
    /entry torch_mixed\/data\/0 \(storage of 'state_dict\.w'\) holds 10 bytes, but 24 float32 elements need 96/,
  );

  // a data.pkl calling os.system: refused by name, with the file and entry
  const evil = zipWith("evil.pt", {
    "evil/data.pkl": Buffer.from("8002636f730a73797374656d0a710058070000006563686f20686971018571025271032e", "hex"),
  });
  throwsWith(() => loadTorchFile(evil), `${evil} (evil/data.pkl): `, /global 'os\.system' is not allowed/);

  const noPickle = zipWith("nopickle.pt", { "x/version": Buffer.from("3\n") });
  throwsWith(
    () => loadTorchFile(noPickle),
    `loadTorchFile(${noPickle}): `,
    /expected one '<archive>\/data\.pkl' entry/,
  );
});

/** The fixture with `edit` applied to a copy of its bytes, saved under `name`. */
function damaged(name: string, source: string, edit: (bytes: Buffer) => Buffer | void): string {
  const bytes = Buffer.from(readFileSync(fixture(source)));
  const file = tmp(name);
  writeFileSync(file, edit(bytes) ?? bytes);
  return file;
}

test("torch file: every record read is checked against its zip CRC-32", () => {
  // one flipped bit in the data of mbf_backbone/data/17 (a stored record starting at byte 1732480)
  const flipped = damaged("flipped.pth", "mbf_backbone.pth", (b) => flip(b, 1732480 + 100, 0x10));
  throwsWith(
    () => loadTorchFile(flipped),
    `loadTorchFile(${flipped}): `,
    /record 'mbf_backbone\/data\/17' fails its CRC-32 check: the file is damaged/,
  );
  // damage to the pickle is caught before it is parsed
  const pickle = damaged("pickle.pth", "torch_mixed.pt", (b) => flip(b, b.indexOf("state_dict") + 2, 1));
  throwsWith(() => loadTorchFile(pickle), `loadTorchFile(${pickle}): `, /'torch_mixed\/data\.pkl' fails its CRC-32/);
  // deflated records (torch.save stores them, other zip tools may not) are inflated and checked too
  const entries = mixedEntries();
  const deflated = tmp("deflated.pt");
  writeFileSync(deflated, zipSync(entries, { level: 6 }));
  const sd = loadTorchFile(deflated);
  assert.deepEqual(sd.get("state_dict.i16")!.toNumbers(), [-300, 300]);
  disposeAll(sd.values());
  const bytes = readFileSync(deflated);
  const start = bytes.indexOf("torch_mixed/data/0") + "torch_mixed/data/0".length;
  flip(bytes, start + 5, 0xff);
  writeFileSync(deflated, bytes);
  throwsWith(
    () => loadTorchFile(deflated),
    `loadTorchFile(${deflated}): `,
    /record 'torch_mixed\/data\/0' (fails|does not)/,
  );
});

test("torch file: the zip structure is checked before anything is read", () => {
  const cases: [string, (b: Buffer) => Buffer | void, RegExp][] = [
    ["appended.pth", (b) => Buffer.concat([b, Buffer.from("junk")]), /no zip end-of-central-directory record/],
    // the first directory entry's local header offset, moved by 4
    [
      "offset.pth",
      (b) => void b.writeUInt32LE(b.readUInt32LE(directoryEntry(b) + 42) + 4, directoryEntry(b) + 42),
      /record 'torch_mixed\/data\.pkl': no local header at byte 4/,
    ],
    ["name.pth", (b) => flip(b, 30, 0x20), /record 'torch_mixed\/data\.pkl': its local header at byte 0 disagrees/],
    ["count.pth", (b) => flip(b, b.length - 12, 1), /the zip64 end record and the end record disagree/],
  ];
  for (const [name, edit, pattern] of cases) {
    const file = damaged(name, "torch_mixed.pt", edit);
    throwsWith(() => loadTorchFile(file), `loadTorchFile(${file}): `, pattern);
  }
});

function flip(b: Buffer, at: number, mask: number): void {
  b.writeUInt8(b.readUInt8(at) ^ mask, at);
}

/**
 * A zip whose every size and offset is in zip64 form (as in files over 4 GiB): 0xffffffff in the headers, the values
 * in zip64 extra fields, and a zip64 end record. Written by hand, after APPNOTE.TXT.
 */
function zip64(entries: Record<string, Uint8Array>): Buffer {
  const u16 = (v: number): Buffer => Buffer.from([v & 0xff, v >> 8]);
  const u32 = (v: number): Buffer => Buffer.from(new Uint32Array([v]).buffer);
  const u64 = (v: number): Buffer => Buffer.from(new BigUint64Array([BigInt(v)]).buffer);
  const FULL = 0xffffffff;
  const locals: Buffer[] = [];
  const directory: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const n = Buffer.from(name);
    const [crc, size] = [crc32(data), data.length];
    const common = [u16(45), u16(0), u16(0), u16(0), u16(0), u32(crc), u32(FULL), u32(FULL), u16(n.length)];
    const local = [u32(0x04034b50), ...common, u16(20), n, u16(1), u16(16), u64(size), u64(size), data];
    const entry = [u32(0x02014b50), u16(45), ...common, u16(28), u16(0), u16(0), u16(0), u32(0), u32(FULL), n];
    directory.push(Buffer.concat([...entry, u16(1), u16(24), u64(size), u64(size), u64(offset)]));
    locals.push(Buffer.concat(local));
    offset += locals.at(-1)!.length;
  }
  const dir = Buffer.concat(directory);
  const count = directory.length;
  const end64 = [u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(count), u64(count)];
  return Buffer.concat([
    ...locals,
    dir,
    ...end64,
    u64(dir.length),
    u64(offset),
    ...[u32(0x07064b50), u32(0), u64(offset + dir.length), u32(1)],
    ...[u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(FULL), u32(FULL), u16(0)],
  ]);
}

test("torch file: zip64 sizes, offsets and end records are read (files over 4 GiB have them)", () => {
  const file = tmp("zip64.pt");
  writeFileSync(file, zip64(mixedEntries()));
  const sd = loadTorchFile(file);
  const clean = loadTorchFile(fixture("torch_mixed.pt"));
  assert.deepEqual([...sd.keys()], [...clean.keys()]);
  for (const [k, t] of clean) assert.deepEqual(sd.get(k)!.data(), t.data(), k);
  disposeAll([...sd.values(), ...clean.values()]);
  // and their CRC-32 still guards the records
  const bytes = readFileSync(file);
  flip(bytes, bytes.indexOf("torch_mixed/data/1") + "torch_mixed/data/1".length + 20 + 3, 0x40);
  writeFileSync(file, bytes);
  throwsWith(() => loadTorchFile(file), `loadTorchFile(${file}): `, /record 'torch_mixed\/data\/1' fails its CRC-32/);
});

// the byte where the central directory starts (the offset the end record holds: torch files end in a zip64 pair)
function directoryEntry(b: Buffer): number {
  return b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
}
