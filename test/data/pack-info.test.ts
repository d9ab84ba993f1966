import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeImage } from "../../src/data/codec.js";
import { CorruptRecordError } from "../../src/data/errors.js";
import { datasetInfo, formatDatasetInfo } from "../../src/data/info.js";
import { packFolder } from "../../src/data/pack.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";
import { fixture, jpeg, png, tempDir } from "./helpers.js";

const dir = tempDir("pack");

async function labeledFolder(name: string): Promise<string> {
  const root = path.join(dir, name);
  const files: [string, Uint8Array][] = [
    ["ann/1.jpg", await jpeg(10)],
    ["ann/2.png", await png(20)],
    ["ben/1.jpg", await jpeg(30, 24, 24)], // another size: resized and re-encoded
    ["cid/1.png", await png(40)],
  ];
  for (const [file, bytes] of files) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), bytes);
  }
  return root;
}

test("packFolder: a labeled folder becomes a header-layout pack the reader gets back", async () => {
  const root = await labeledFolder("people");
  const rec = path.join(dir, "out", "train.rec");
  mkdirSync(path.dirname(rec));
  const summary = await packFolder(root, rec, { imageSize: [16, 16] });
  assert.deepEqual(summary, { images: 4, numClasses: 3, imageSize: [16, 16], reencoded: 1, skipped: 0 });
  const ds = RecDataset.open(rec);
  assert.equal(ds.layout, "header");
  assert.deepEqual(ds.imageSize, [16, 16]);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => ds.read(i).label),
    [0, 0, 1, 2],
  );
  assert.ok(Buffer.from(ds.read(1).image).equals(readFileSync(path.join(root, "ann/2.png"))), "PNG stored as is");
  const resized = await decodeImage(ds.read(2).image);
  assert.deepEqual([resized.height, resized.width], [16, 16]);
  ds.close();
});

test("packFolder: a corrupt image stops the pack, or is skipped and counted", async () => {
  const root = await labeledFolder("broken");
  writeFileSync(path.join(root, "ben", "2.jpg"), (await jpeg(50)).subarray(0, 30));
  const rec = path.join(dir, "broken-out", "train.rec");
  mkdirSync(path.dirname(rec));
  await assert.rejects(
    packFolder(root, rec),
    (e: Error) => e instanceof CorruptRecordError && e.message.startsWith(path.join(root, "ben", "2.jpg")),
  );
  assert.ok(!existsSync(rec) && !existsSync(`${rec}.partial`), "nothing half-written is left");
  const summary = await packFolder(root, rec, { imageSize: [16, 16], skipCorrupt: true, onSkip: () => {} });
  assert.equal(summary.images, 4);
  assert.equal(summary.skipped, 1);
});

test("datasetInfo: counts, identities, image size, pairs and a sample grid PNG", async () => {
  const grid = path.join(dir, "grid.png");
  const rec = await datasetInfo(fixture("train.rec"), { samplePath: grid, samples: 10 });
  assert.deepEqual(
    { ...rec, path: "" },
    {
      path: "",
      kind: "recordio",
      images: 15,
      identities: 5,
      imageSize: [112, 112],
      layout: "header",
      sampleGrid: grid,
    },
  );
  const image = await decodeImage(readFileSync(grid));
  assert.deepEqual([image.width, image.height], [8 * 112, 2 * 112]);
  const bin = await datasetInfo(fixture("pairs_py2.bin"));
  assert.equal(bin.kind, "verification pack");
  assert.deepEqual([bin.images, bin.pairs, bin.genuinePairs, bin.identities], [14, 7, 4, null]);
  const folder = await datasetInfo(await labeledFolder("info"));
  assert.deepEqual([folder.kind, folder.images, folder.identities, folder.imageSize], ["image folder", 4, 3, [16, 16]]);
  assert.match(formatDatasetInfo(bin), /pairs: +7 \(4 genuine\)/);
});
