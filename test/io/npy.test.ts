import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { encodeNpy, parseNpy, readNpy, writeNpy, NpyRows } from "../../src/io/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "facekd-npy-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/**
 * A .npy file made by hand: the header padded as numpy pads it (unless `raw`), in version `major`.0 (1 by
 * default; a major of 0 or over 3 gets a 2-byte length).
 */
function npyBytes(header: string, data: Uint8Array, { major = 1, minor = 0, raw = false } = {}): Uint8Array {
  const lengthBytes = major === 2 || major === 3 ? 4 : 2;
  const padded = raw ? header : header + " ".repeat(63 - ((8 + lengthBytes + header.length) % 64)) + "\n";
  const text = Buffer.from(padded, "latin1");
  const length = Buffer.alloc(lengthBytes);
  length.writeUIntLE(text.length, 0, lengthBytes);
  return Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor]), length, text, data]);
}

const f4 = (shape: string): string => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;

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
    assert.throws(
      () => parseNpy(short),
      /shape \(3,\) of <f4 needs 12 bytes of data, but the file holds 4 after its header: it is truncated/,
    );
    assert.throws(() => torch.tidy(() => encodeNpy(torch.zeros([2], { dtype: "bfloat16" }))), /numpy has no bfloat16/);
  });

  test("reads what numpy writes: versions 1.0, 2.0 and 3.0, every dtype, Fortran order, 0-d and empty", () => {
    // made by scripts/make-npy-fixtures.py with Debian's numpy
    const folder = path.join(root, "test", "fixtures", "npy");
    const expected = JSON.parse(readFileSync(path.join(folder, "expected.json"), "utf8")) as Record<
      string,
      { dtype: string; shape: number[]; values: (number | boolean)[] }
    >;
    const files = readdirSync(folder).filter((f) => f.endsWith(".npy"));
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
    torch.tidy(() => {
      for (const [name, want] of Object.entries(expected)) {
        const x = readNpy(path.join(folder, name));
        assert.deepEqual(x.shape, want.shape, name);
        assert.deepEqual(x.toNumbers(), want.values.map(Number), name);
      }
    });
  });

  test("headers numpy refuses are refused, each with the file's name", () => {
    const data = new Uint8Array(4);
    // every one of these makes numpy 1.24 and 2.4's np.load raise
    const refusedByNumpy: [string, Uint8Array][] = [
      ["not a dict", npyBytes("['descr', '<f4']", data)],
      ["missing key", npyBytes("{'descr': '<f4', 'fortran_order': False, }", data)],
      ["extra key", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }", data)],
      ["shape list", npyBytes(f4("[1]"), data)],
      ["shape not a tuple", npyBytes(f4("(1)"), data)],
      ["float in shape", npyBytes(f4("(1.0,)"), data)],
      ["string in shape", npyBytes(f4("('1',)"), data)],
      ["negative size", npyBytes(f4("(-1,)"), data)],
      ["bool in shape", npyBytes(f4("(True,)"), data)],
      ["leading zero", npyBytes(f4("(01,)"), data)],
      ["fortran_order 0", npyBytes("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", data)],
      ["fortran_order text", npyBytes("{'descr': '<f4', 'fortran_order': 'False', 'shape': (1,), }", data)],
      ["bogus descr", npyBytes("{'descr': '<q9', 'fortran_order': False, 'shape': (1,), }", data)],
      ["descr not a string", npyBytes("{'descr': 4, 'fortran_order': False, 'shape': (1,), }", data)],
      ["object descr", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8))],
      ["missing comma", npyBytes("{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", data)],
      ["unterminated", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), ", data)],
      ["a call", npyBytes(f4("tuple([1])"), data)],
      ["bytes key", npyBytes("{b'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data)],
      ["trailing text", npyBytes(f4("(1,)") + " x", data)],
      ["version 1.1", npyBytes(f4("(1,)"), data, { minor: 1 })],
      ["version 4.0", npyBytes(f4("(1,)"), data, { major: 4 })],
      ["truncated data", npyBytes(f4("(3,)"), data)],
    ];
    // numpy reads these, but none is what numpy writes and each hides a mistake or damage
    const refusedHere: [string, Uint8Array][] = [
      ["duplicate key", npyBytes("{'descr': '<i4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", data)],
      ["native byte order", npyBytes("{'descr': '=f4', 'fortran_order': False, 'shape': (1,), }", data)],
      ["no byte order", npyBytes("{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", data)],
      ["a type name", npyBytes("{'descr': 'float32', 'fortran_order': False, 'shape': (1,), }", data)],
      ["structured", npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", data)],
      ["complex", npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8))],
      ["hex size", npyBytes(f4("(0x1,)"), data)],
      ["signed size", npyBytes(f4("(+1,)"), data)],
      ["underscore", npyBytes(f4("(1_0,)"), new Uint8Array(40))],
      ["comment", npyBytes(f4("(1,)") + " # hi", data)],
      ["u-string", npyBytes("{'descr': u'<f4', 'fortran_order': False, 'shape': (1,), }", data)],
      ["data past the shape", npyBytes(f4("(1,)"), new Uint8Array(8))],
      ["no newline", npyBytes(f4("(1,)") + " ".repeat(16), data, { raw: true })],
      ["unaligned data", npyBytes(f4("(1,)") + "\n", data, { raw: true })],
      ["huge header", npyBytes(f4("(1,)") + " ".repeat(20_000), data, { major: 2 })],
      ["huge shape", npyBytes(f4("(4294967296, 4294967296)"), data)],
    ];
    for (const [what, bytes] of [...refusedByNumpy, ...refusedHere]) {
      const file = path.join(dir, "refused.npy");
      writeFileSync(file, bytes);
      assert.throws(
        () => readNpy(file),
        new RegExp(`^Error: readNpy\\(${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\): `),
        what,
      );
      assert.throws(() => new NpyRows(file), /readNpy\(/, what);
    }
    // what numpy writes still reads, with the Python 2 'L' suffix that numpy's reader also takes
    torch.tidy(() => {
      assert.deepEqual(parseNpy(npyBytes(f4("(1L,)"), data)).shape, [1]);
      assert.deepEqual(parseNpy(npyBytes(f4("(1,)"), data, { major: 3 })).shape, [1]);
      assert.deepEqual(
        parseNpy(npyBytes("{\n'shape':(1,1),\t'fortran_order':False,'descr':\"<f4\"}", data)).shape,
        [1, 1],
      );
    });
  });

  test("NpyRows checks the file's size against its header like readNpy", () => {
    const file = path.join(dir, "rows.npy");
    const good = encodeNpy(torch.tidy(() => torch.zeros([3, 2])));
    writeFileSync(file, good.subarray(0, good.length - 4));
    assert.throws(() => new NpyRows(file), /shape \(3, 2\) of <f4 needs 24 bytes of data, but the file holds 20/);
    writeFileSync(file, good);
    const rows = new NpyRows(file);
    assert.equal(rows.count, 3);
    rows.close();
  });
});
