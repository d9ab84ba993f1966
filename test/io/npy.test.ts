import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { encodeNpy, parseNpy, readNpy, writeNpy } from "../../src/io/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "facekd-npy-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** A .npy file made by hand: version 1.0, the header padded as numpy pads it. */
function npyBytes(header: string, data: Uint8Array): Uint8Array {
  const padded = header + " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const out = new Uint8Array(10 + padded.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, padded.length & 0xff, padded.length >> 8]);
  out.set(new TextEncoder().encode(padded), 10);
  out.set(data, 10 + padded.length);
  return out;
}

describe(".npy", () => {
  test("reads numpy's own file (the mbf fixture input)", () => {
    const file = path.join(root, "test", "fixtures", "mbf_input.npy");
    torch.tidy(() => {
      const x = readNpy(file);
      assert.deepEqual(x.shape, [2, 3, 112, 112]);
      assert.equal(x.dtype, "float32");
      const bytes = readFileSync(file);
      const first = new DataView(bytes.buffer, bytes.byteOffset + 128, 4).getFloat32(0, true); // 128-byte header
      assert.equal(x.flatten().select(0, 0).item(), first);
      assert.deepEqual(encodeNpy(x), new Uint8Array(bytes)); // and writes it back byte for byte
    });
  });

  test("round trip of every supported dtype and of 0-d and 1-d shapes", () => {
    torch.tidy(() => {
      for (const dtype of [
        "float32",
        "float64",
        "float16",
        "int64",
        "int32",
        "int16",
        "int8",
        "uint8",
        "bool",
      ] as const) {
        const t = torch.tensor(
          [
            [0, 1, 2],
            [3, 4, 5],
          ],
          { dtype: dtype === "bool" ? "float32" : dtype },
        );
        const x = dtype === "bool" ? t.gt(2) : t;
        const back = parseNpy(encodeNpy(x));
        assert.equal(back.dtype, dtype);
        assert.deepEqual(back.shape, [2, 3]);
        assert.deepEqual(back.toNumbers(), x.toNumbers(), dtype);
      }
      const file = path.join(dir, "v.npy");
      writeNpy(file, torch.tensor([1.5, -2]));
      assert.match(readFileSync(file, "latin1"), /'shape': \(2,\), \}/);
      assert.deepEqual(readNpy(file).toNumbers(), [1.5, -2]);
      assert.deepEqual(parseNpy(encodeNpy(torch.scalar(7, { dtype: "int64" }))).shape, []);
      assert.equal(encodeNpy(torch.zeros([5, 7])).indexOf(0x0a) % 64, 63, "data starts at a multiple of 64");
    });
  });

  test("Fortran order is transposed into place", () => {
    const data = new Int32Array([1, 4, 2, 5, 3, 6]); // [[1, 2, 3], [4, 5, 6]] column by column
    const bytes = npyBytes("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", new Uint8Array(data.buffer));
    torch.tidy(() => assert.deepEqual(parseNpy(bytes).toNumbers(), [1, 2, 3, 4, 5, 6]));
  });

  test("errors say what is wrong", () => {
    assert.throws(() => parseNpy(new Uint8Array(20), "a.npy"), /readNpy\(a\.npy\): not a \.npy file/);
    assert.throws(() => readNpy("missing/e.npy"), /readNpy\(missing\/e\.npy\): no such file; check the path/);
    const big = npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4));
    assert.throws(() => parseNpy(big), /unsupported element type '>f4' \(big-endian/);
    const short = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(4));
    assert.throws(() => parseNpy(short), /the data is truncated/);
    assert.throws(() => torch.tidy(() => encodeNpy(torch.zeros([2], { dtype: "bfloat16" }))), /numpy has no bfloat16/);
  });
});
