import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeImage } from "../../src/data/codec.js";
import { CorruptRecordError, DataError } from "../../src/data/errors.js";
import { CFLAG_FIRST, CFLAG_LAST, CFLAG_MIDDLE, frameRecord, MAGIC } from "../../src/data/recordio/format.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";
import { RecWriter } from "../../src/data/recordio/rec-writer.js";
import { fixture, png, tempDir } from "./helpers.js";

const dir = tempDir("recordio");
let packs = 0;

/** A .rec path in a fresh folder (each pack folder has its own `property`). */
function packPath(name = "train"): string {
  const folder = path.join(dir, `pack${packs++}`);
  mkdirSync(folder);
  return path.join(folder, `${name}.rec`);
}

/** Copies the insightface fixture pack into a fresh folder, for tests that damage it. */
function fixtureCopy(): string {
  const rec = packPath();
  copyFileSync(fixture("train.rec"), rec);
  copyFileSync(fixture("train.idx"), rec.replace(/rec$/, "idx"));
  copyFileSync(fixture("property"), path.join(path.dirname(rec), "property"));
  return rec;
}

const expected = JSON.parse(readFileSync(fixture("rec_expected.json"), "utf8")) as {
  images: number;
  identities: number;
  labels: number[];
};

test("the insightface fixture (header layout) reads with its expected labels and decodable JPEGs", async () => {
  const ds = RecDataset.open(fixture("train.rec"));
  try {
    assert.equal(ds.layout, "header");
    assert.equal(ds.length, expected.images);
    assert.equal(ds.numClasses, expected.identities);
    assert.deepEqual(ds.imageSize, [112, 112]);
    const labels = Array.from({ length: ds.length }, (_, i) => ds.read(i).label);
    assert.deepEqual(labels, expected.labels);
    assert.deepEqual([...ds.identities!.starts], [1, 4, 7, 10, 13]);
    assert.deepEqual([...ds.identities!.ends], [4, 7, 10, 13, 16]);
    const image = await decodeImage(ds.read(4).image);
    assert.deepEqual([image.height, image.width, image.pixels.length], [112, 112, 112 * 112 * 3]);
  } finally {
    ds.close();
  }
});

test("re-packing the fixture's images gives the fixture byte for byte (.rec, .idx, property)", () => {
  const source = RecDataset.open(fixture("train.rec"));
  const rec = packPath();
  const writer = new RecWriter(rec, { imageSize: [112, 112] });
  for (let i = 0; i < source.length; i++) {
    const { label, image } = source.read(i);
    writer.add(image, label);
  }
  source.close();
  assert.deepEqual(writer.close(), { images: 15, numClasses: 5 });
  assert.ok(readFileSync(rec).equals(readFileSync(fixture("train.rec"))));
  assert.equal(readFileSync(rec.replace(/rec$/, "idx"), "utf8"), readFileSync(fixture("train.idx"), "utf8"));
  assert.equal(readFileSync(path.join(path.dirname(rec), "property"), "utf8"), "5,112,112\n");
});

test("idx-only layout round trip: labels, label vectors (flag > 0) and unlabeled packs", async () => {
  const rec = packPath();
  const writer = new RecWriter(rec, { layout: "idx-only", imageSize: [16, 16] });
  const images = await Promise.all([0, 1, 2, 3].map((v) => png(v * 50)));
  writer.add(images[0]!, 2);
  writer.add(images[1]!, 0);
  writer.add(images[2]!, [1, 7.5, -3]); // a label vector: its first entry is the class
  writer.add(images[3]!, 2);
  writer.close();
  const ds = RecDataset.open(rec);
  assert.equal(ds.layout, "idx-only");
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => ds.read(i).label),
    [2, 0, 1, 2],
  );
  assert.ok(Buffer.from(ds.read(2).image).equals(Buffer.from(images[2]!)));
  const { header } = ds.readRecord(2);
  assert.equal(header.flag, 3);
  assert.deepEqual([...header.labels], [1, 7.5, -3]);
  ds.close();

  const unlabeled = packPath("unlabeled");
  const w2 = new RecWriter(unlabeled, { layout: "idx-only", imageSize: [16, 16] });
  for (const image of images) w2.add(image, -1);
  assert.deepEqual(w2.close(), { images: 4, numClasses: null });
  const u = RecDataset.open(unlabeled);
  assert.equal(u.numClasses, null, "no property file for unlabeled data");
  assert.equal(u.read(3).label, -1);
  u.close();
});

test("split records: a payload holding the magic at 4-aligned offsets is split (cflag 1/2/3) and re-joined", () => {
  const magic = [0x0a, 0x23, 0xd7, 0xce];
  // magic at aligned offsets 8 and 16, and once unaligned (offset 27), which must not split
  const image = Uint8Array.from([
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    ...magic,
    9,
    9,
    9,
    9,
    ...magic,
    1,
    1,
    1,
    0,
    2,
    2,
    2,
    ...magic,
    5,
  ]);
  const framed = frameRecord(image);
  const view = new DataView(framed.buffer);
  const parts: number[] = [];
  for (let at = 0; at < framed.length;) {
    assert.equal(view.getUint32(at, true), MAGIC);
    const lrec = view.getUint32(at + 4, true);
    parts.push(lrec >>> 29);
    at += 8 + (((lrec & 0x1fffffff) + 3) & ~3);
  }
  assert.deepEqual(parts, [CFLAG_FIRST, CFLAG_MIDDLE, CFLAG_LAST]);

  const rec = packPath();
  const writer = new RecWriter(rec, { layout: "idx-only" });
  // the IRHeader is 24 bytes, so offsets in the image stay 4-aligned in the payload
  writer.add(image, 0);
  writer.add(Uint8Array.from([...magic, ...magic]), 0);
  writer.close();
  writeFileSync(path.join(path.dirname(rec), "property"), "1,16,16\n");
  const ds = RecDataset.open(rec);
  assert.deepEqual([...ds.read(0).image], [...image]);
  assert.deepEqual([...ds.read(1).image], [...magic, ...magic]);
  ds.close();
});

test("header layout writer refuses images not grouped by label", async () => {
  const writer = new RecWriter(packPath());
  const image = await png(1);
  writer.add(image, 0);
  writer.add(image, 1);
  assert.throws(() => writer.add(image, 0), /grouped by label 0, 1, 2/);
});

test("idx-only writer with numClasses: the property declares identities without images; labels stay below it", async () => {
  const rec = packPath();
  const writer = new RecWriter(rec, { layout: "idx-only", imageSize: [16, 16], numClasses: 4 });
  const image = await png(1);
  writer.add(image, 0);
  writer.add(image, 2);
  assert.throws(() => writer.add(image, 4), /label 4 is not below numClasses 4/);
  const pack = new RecWriter(packPath(), { layout: "idx-only", imageSize: [16, 16], numClasses: 4 });
  pack.add(image, 0);
  pack.add(image, 2);
  assert.deepEqual(pack.close(), { images: 2, numClasses: 4 });
  const ds = RecDataset.open(pack.recPath);
  assert.deepEqual([ds.numClasses, ds.read(1).label], [4, 2]);
  ds.close();
  assert.throws(() => new RecWriter(packPath(), { numClasses: 4 }), /numClasses is for the idx-only layout/);
});

/** An idx-only pack of `n` small PNGs labeled 0, 1, 2, ... with a property file for `classes`. */
async function smallPack(n: number, classes = n, labels?: number[]): Promise<string> {
  const rec = packPath();
  const writer = new RecWriter(rec, { layout: "idx-only", imageSize: [16, 16] });
  for (let i = 0; i < n; i++) writer.add(await png(i * 10), labels?.[i] ?? i);
  writer.close();
  writeFileSync(path.join(path.dirname(rec), "property"), `${classes},16,16\n`);
  return rec;
}

const idxOffsets = (rec: string): number[] =>
  readFileSync(rec.replace(/rec$/, "idx"), "utf8")
    .trim()
    .split("\n")
    .map((line) => Number(line.split("\t")[1]));

test("bad input: a .rec cut inside a record names the file, key and byte and says it is truncated", async () => {
  const rec = await smallPack(4);
  const last = idxOffsets(rec)[3]!;
  truncateSync(rec, last + 20);
  const ds = RecDataset.open(rec);
  assert.equal(ds.read(2).label, 2, "records before the cut still read");
  assert.throws(
    () => ds.read(3),
    (e: Error) =>
      e instanceof CorruptRecordError &&
      e.message.startsWith(`${rec}: record key 3 at byte ${last}`) &&
      /truncated/.test(e.message),
  );
  ds.close();
});

test("bad input: .idx offsets past the end of the .rec; skipCorrupt drops those keys and counts them", async () => {
  const rec = await smallPack(4);
  truncateSync(rec, idxOffsets(rec)[3]! - 4);
  const idx = rec.replace(/rec$/, "idx");
  assert.throws(
    () => RecDataset.open(rec),
    (e: Error) =>
      e instanceof CorruptRecordError && e.message.includes(`${idx}: line 4`) && /past the end/.test(e.message),
  );
  const skipped: string[] = [];
  const ds = RecDataset.open(rec, { skipCorrupt: true, onSkip: (e) => skipped.push(e.message) });
  assert.equal(ds.length, 3);
  assert.equal(skipped.length, 1);
  ds.close();
});

test("bad input: a header-layout pack cut before its identity records fails even with skipCorrupt", () => {
  const rec = fixtureCopy();
  truncateSync(rec, 18000);
  assert.throws(
    () => RecDataset.open(rec, { skipCorrupt: true, onSkip: () => {} }),
    (e: Error) => e instanceof DataError && /identity record key 16 \(class 0\) is missing/.test(e.message),
  );
});

test("bad input: wrong magic, inside a pack and for a file that is not RecordIO", () => {
  const rec = fixtureCopy();
  const bytes = readFileSync(rec);
  bytes.writeUInt32LE(0xdeadbeef, 5064); // record key 5
  writeFileSync(rec, bytes);
  const ds = RecDataset.open(rec);
  assert.throws(
    () => ds.read(4),
    (e: Error) =>
      e instanceof CorruptRecordError &&
      e.message.includes("record key 5 at byte 5064") &&
      e.message.includes("expected the RecordIO magic 0xced7230a at byte 5064, found 0xdeadbeef"),
  );
  ds.close();

  const notRec = fixtureCopy();
  writeFileSync(notRec, Buffer.alloc(20000, 7));
  assert.throws(() => RecDataset.open(notRec), /not a RecordIO file/);
});

test("bad input: malformed and ambiguous .idx files", () => {
  const rec = fixtureCopy();
  const idx = rec.replace(/rec$/, "idx");
  writeFileSync(idx, "0\t0\n1\t40\nhello world\n");
  assert.throws(
    () => RecDataset.open(rec),
    (e: Error) => e instanceof DataError && e.message.includes(`${idx}: line 3`),
  );
  writeFileSync(idx, "0\t0\n1\t40\n1\t1060\n");
  assert.throws(() => RecDataset.open(rec), /key 1 is listed twice/);
  writeFileSync(idx, "0\t0\n1\t42\n");
  assert.throws(() => RecDataset.open(rec), /not a multiple of 4/);
});

test("bad input: a damaged record length is an error naming the record, not a cut image", () => {
  const rec = fixtureCopy();
  const bytes = readFileSync(rec);
  bytes.writeUInt32LE(bytes.readUInt32LE(1060 + 4) - 4, 1060 + 4); // key 2: 1414 bytes said to be 1410
  writeFileSync(rec, bytes);
  const ds = RecDataset.open(rec);
  try {
    assert.equal(ds.read(0).key, 1);
    assert.throws(
      () => ds.read(1),
      (e: Error) =>
        e instanceof CorruptRecordError &&
        e.message.includes(`${rec}: record key 2 at byte 1060: its payload ends at byte 2478, where neither zero`),
    );
  } finally {
    ds.close();
  }
});

test("bad input: a property file that does not match the pack", () => {
  const rec = fixtureCopy();
  const property = path.join(path.dirname(rec), "property");
  writeFileSync(property, "6,112,112\n");
  assert.throws(
    () => RecDataset.open(rec),
    (e: Error) => e instanceof DataError && e.message.includes("says 6 identities") && e.message.includes("holds 5"),
  );
  writeFileSync(property, "five,112\n");
  assert.throws(() => RecDataset.open(rec), /expected "num_classes,height,width"/);
  writeFileSync(property, "5,112,912\n");
  assert.throws(
    () => RecDataset.open(rec),
    (e: Error) =>
      e instanceof DataError &&
      e.message.startsWith(`${property} says the images are 112x912, but the first image of ${rec} (key 1) is 112x112`),
  );
  writeFileSync(property, "5,112,4499999910\n");
  assert.throws(
    () => RecDataset.open(rec),
    (e: Error) =>
      e instanceof DataError && e.message.startsWith(`${property}: "5,112,4499999910" declares 5 identities`),
  );
});

test("bad input: labels out of range or against the identity records are errors, never returned", async () => {
  const rec = await smallPack(3, 3, [0, 1, 5]);
  const ds = RecDataset.open(rec);
  assert.throws(
    () => ds.read(2),
    (e: Error) =>
      e instanceof CorruptRecordError && /record key 2 has label 5, outside the 3 identities 0..2/.test(e.message),
  );
  ds.close();

  const fixtureRec = fixtureCopy();
  const bytes = readFileSync(fixtureRec);
  bytes.writeFloatLE(3, 5064 + 8 + 4); // the IRHeader label of key 5 (class 1) says 3
  writeFileSync(fixtureRec, bytes);
  const inconsistent = RecDataset.open(fixtureRec);
  assert.throws(() => inconsistent.read(4), /label 3, but the identity record of class 3 owns keys 10..12/);
  inconsistent.close();
});
