import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeImage } from "../../src/data/codec.js";
import { DataError } from "../../src/data/errors.js";
import { readVerificationPack } from "../../src/data/verification/bin-reader.js";
import { writeVerificationPack } from "../../src/data/verification/bin-writer.js";
import { fixture, jpeg, tempDir } from "./helpers.js";

const dir = tempDir("verification");
const expected = JSON.parse(readFileSync(fixture("pairs_expected.json"), "utf8")) as {
  pairs: number;
  issame: boolean[];
  jpeg_sizes: number[];
};

for (const name of ["pairs_py2.bin", "pairs_py3.bin", "pairs_numpy.bin"]) {
  test(`${name} (made by Python's pickle) reads as the expected pairs`, async () => {
    const pack = readVerificationPack(fixture(name));
    assert.equal(pack.issame.length, expected.pairs);
    assert.deepEqual(pack.issame, expected.issame);
    assert.deepEqual(
      pack.images.map((b) => b.length),
      expected.jpeg_sizes,
    );
    const first = await decodeImage(pack.images[0]!);
    assert.deepEqual([first.height, first.width], [112, 112]);
  });
}

test("the three pickle styles hold the same image bytes", () => {
  const [py2, py3, np] = ["pairs_py2.bin", "pairs_py3.bin", "pairs_numpy.bin"].map((n) =>
    readVerificationPack(fixture(n)),
  );
  for (let i = 0; i < py2!.images.length; i++) {
    assert.ok(Buffer.from(py2!.images[i]!).equals(Buffer.from(py3!.images[i]!)));
    assert.ok(Buffer.from(py2!.images[i]!).equals(Buffer.from(np!.images[i]!)));
  }
});

test("writer round trip in Python 2 style (protocol 2) and Python 3 style (protocol 4), batches over 1000", async () => {
  const images = await Promise.all([1, 2, 3, 4].map((v) => jpeg(v)));
  // 1001 pairs so that both lists cross pickle's batch of 1000 items between MARK and APPENDS
  const all = Array.from({ length: 2002 }, (_, i) => images[i % 4]!);
  const issame = Array.from({ length: 1001 }, (_, i) => i % 3 === 0);
  for (const protocol of [2, 4] as const) {
    const file = path.join(dir, `p${protocol}.bin`);
    writeVerificationPack(file, all, issame, { protocol });
    const pack = readVerificationPack(file);
    assert.deepEqual(pack.issame, issame);
    assert.equal(pack.images.length, 2002);
    assert.ok(Buffer.from(pack.images[2001]!).equals(Buffer.from(images[1]!)));
  }
  // a pack of the fixture's own images is the fixture's bytes (protocol 4, no frames) once re-read
  const py3 = readVerificationPack(fixture("pairs_py3.bin"));
  const file = path.join(dir, "again.bin");
  writeVerificationPack(file, py3.images, py3.issame);
  assert.deepEqual(readVerificationPack(file), py3);
});

test("Python's pickle reads the packs we write (when /usr/bin/python3 is there)", (t) => {
  if (!existsSync("/usr/bin/python3")) return t.skip("no /usr/bin/python3");
  const images = [Uint8Array.of(0xff, 0xd8, 1), Uint8Array.of(0xff, 0xd8, 2, 3)];
  for (const protocol of [2, 4] as const) {
    const file = path.join(dir, `py${protocol}.bin`);
    writeVerificationPack(file, images, [true], { protocol });
    const script =
      "import pickle,sys; b,s=pickle.load(open(sys.argv[1],'rb'),encoding='bytes'); " +
      "print([list(x) for x in b], s)";
    const run = spawnSync("/usr/bin/python3", ["-c", script, file], { encoding: "utf8" });
    assert.equal(run.stdout.trim(), "[[255, 216, 1], [255, 216, 2, 3]] [True]", run.stderr);
  }
});

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, "hex"));

// pickle.dumps(([b"\xff\xd8\xff", np.frombuffer(b"\xff\xd8\x01", np.uint8)], np.array([True])), protocol=2)
const NUMPY_PACK =
  "80025d710028635f636f646563730a656e636f64650a71015806000000c3bfc398c3bf710258060000006c6174696e3171038671" +
  "04527105636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7106636e756d70790a6e6461" +
  "727261790a71074b0085710868015801000000627109680386710a52710b87710c52710d284b014b0385710e636e756d70790a64" +
  "747970650a710f5802000000753171108988877111527112284b0358010000007c71134e4e4e4affffffff4affffffff4b007471" +
  "14628968015805000000c3bfc39801711568038671165271177471186265680668074b00857119680b87711a52711b284b014b01" +
  "85711c680f58020000006231711d898887711e52711f284b0368134e4e4e4affffffff4affffffff4b0074712062896801580100" +
  "00000171216803867122527123747124628671252e";

test("numpy payloads (protocol 2): uint8 arrays and a numpy bool issame array decode", () => {
  const file = path.join(dir, "npbool.bin");
  writeFileSync(file, hex(NUMPY_PACK));
  const pack = readVerificationPack(file);
  assert.deepEqual([...pack.images[0]!], [0xff, 0xd8, 0xff]);
  assert.deepEqual([...pack.images[1]!], [0xff, 0xd8, 0x01]);
  assert.deepEqual(pack.issame, [true]);
});

test("bad input: a numpy array whose shape does not match its bytes is an error, not a cut image", () => {
  // the second image's shape (3,) made (2,): BININT1 3 -> BININT1 2
  const file = path.join(dir, "npshape.bin");
  assert.ok(NUMPY_PACK.includes("284b014b0385"));
  writeFileSync(file, hex(NUMPY_PACK.replace("284b014b0385", "284b014b0285")));
  assert.throws(
    () => readVerificationPack(file),
    (e: Error) =>
      e instanceof DataError && e.message.includes(`${file}: bins[1] is a numpy array of shape [2] holding 3 bytes`),
  );
});

test("bad input: decoded-pixel arrays, unexpected content and forbidden globals give clear errors", () => {
  const write = (name: string, bytes: Uint8Array): string => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  // pickle.dumps(([np.zeros((2, 2), np.float32), b"x"], [True]), protocol=4)
  const floats = write(
    "floats.bin",
    hex(
      "800495a8000000000000005d94288c156e756d70792e636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493" +
        "948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b024b02869468048c056474797065949394" +
        "8c02663494898887945294284b038c013c944e4e4e4affffffff4affffffff4b00749462894310000000000000000000000000000000" +
        "009474946243017894655d94886186942e",
    ),
  );
  assert.throws(
    () => readVerificationPack(floats),
    (e: Error) =>
      e instanceof DataError &&
      e.message.includes("bins[0] is a numpy array of dtype <f4 and shape [2, 2]") &&
      e.message.includes("convert this one in Python"),
  );
  // pickle.dumps({"bins": []}, protocol=4)
  const dict = write("dict.bin", hex("8004950d000000000000007d948c0462696e73945d94732e"));
  assert.throws(() => readVerificationPack(dict), /expected a pickled pair \(bins, issame_list\), found dict/);
  // a pickle that would call os.system: refused before anything runs
  const evil = write(
    "evil.bin",
    Uint8Array.from(Buffer.from("\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsq\x00\x85R.", "latin1")),
  );
  assert.throws(
    () => readVerificationPack(evil),
    (e: Error) => e instanceof DataError && e.message.includes("global 'os.system' is not allowed"),
  );
  const truncated = write("cut.bin", readFileSync(fixture("pairs_py3.bin")).subarray(0, 5000));
  assert.throws(
    () => readVerificationPack(truncated),
    (e: Error) => e instanceof DataError && /truncated/.test(e.message),
  );
  assert.throws(() => writeVerificationPack(path.join(dir, "odd.bin"), [Uint8Array.of(1)], [true]), /two per pair/);
  const odd = path.join(dir, "odd2.bin");
  writeFileSync(odd, hex("80045d9428430178944301799443017a94655d9488618694" + "2e"));
  assert.throws(() => readVerificationPack(odd), /3 images for 1 pairs/);
});
