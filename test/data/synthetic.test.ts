import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import * as torch from "../../src/torch/index.js";
import { decodeImage } from "../../src/data/codec.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";
import { generateSyntheticDataset, type SyntheticOptions } from "../../src/data/synthetic/generate.js";
import { decodeBatch } from "../../src/data/transforms.js";
import { readVerificationPack } from "../../src/data/verification/bin-reader.js";
import { tempDir } from "./helpers.js";

const dir = tempDir("synthetic");

const tiny: SyntheticOptions = {
  identities: 3,
  imagesPerIdentity: 3,
  unlabeledIdentities: 1,
  unlabeledImagesPerIdentity: 2,
  pairs: 6,
  testIdentities: 3,
  imageSize: 64,
};

const files = [
  "train/train.rec",
  "train/train.idx",
  "train/property",
  "unlabeled/unlabeled.rec",
  "pairs.bin",
  "idset/idset.rec",
];

test("the generator repeats for a seed, writes the real formats, and another seed gives other faces", async () => {
  const a = path.join(dir, "a");
  const b = path.join(dir, "b");
  const c = path.join(dir, "c");
  const summary = await generateSyntheticDataset(a, { ...tiny, idIdentities: 4, seed: 4 });
  await generateSyntheticDataset(b, { ...tiny, idIdentities: 4, seed: 4 });
  await generateSyntheticDataset(c, { ...tiny, idIdentities: 4, seed: 5 });
  for (const file of files) {
    assert.ok(
      readFileSync(path.join(a, file)).equals(readFileSync(path.join(b, file))),
      `${file} differs between runs`,
    );
  }
  assert.ok(!readFileSync(path.join(a, files[0]!)).equals(readFileSync(path.join(c, files[0]!))));

  assert.deepEqual([summary.trainImages, summary.identities, summary.unlabeledImages, summary.pairs], [9, 3, 2, 6]);
  const train = RecDataset.open(summary.paths.train);
  assert.equal(train.layout, "header");
  assert.equal(train.numClasses, 3);
  assert.deepEqual(train.imageSize, [64, 64]);
  assert.deepEqual(
    Array.from({ length: 9 }, (_, i) => train.read(i).label),
    [0, 0, 0, 1, 1, 1, 2, 2, 2],
  );
  const image = await decodeImage(train.read(0).image, { declaredSize: train.imageSize });
  assert.equal(image.pixels.length, 64 * 64 * 3);
  train.close();
  const unlabeled = RecDataset.open(summary.paths.unlabeled);
  assert.deepEqual([unlabeled.length, unlabeled.numClasses, unlabeled.read(1).label], [2, null, -1]);
  unlabeled.close();
  const pairs = readVerificationPack(summary.paths.pairs);
  assert.deepEqual(pairs.issame, [true, false, true, false, true, false]);
  const idSet = RecDataset.open(summary.paths.idSet);
  assert.deepEqual([summary.idImages, idSet.length, idSet.read(3).label], [4, 4, -1]);
  const idImages = Array.from({ length: 4 }, (_, i) => Buffer.from(idSet.read(i).image));
  assert.equal(new Set(idImages.map((b) => b.toString("base64"))).size, 4, "four different faces");
  idSet.close();
  assert.ok(existsSync(summary.paths.samples) && existsSync(summary.paths.options));
});

// The trivial baseline: cosine similarity of mean-centred 16x16 RGB thumbnails, best threshold over all pairs.
function pixelBaseline(
  images: torch.Tensor,
  issame: boolean[],
): { accuracy: number; genuine: number; impostor: number } {
  const sims = torch.tidy(() => {
    const small = torch.nn.functional.adaptiveAvgPool2d(images, 16).flatten(1);
    const f = torch.nn.functional.normalize(small.sub(small.mean(1, true)), 2, 1).reshape([issame.length, 2, -1]);
    return f.select(1, 0).mul(f.select(1, 1)).sum(1).toNumbers();
  });
  const mean = (same: boolean): number => {
    const v = sims.filter((_, i) => issame[i] === same);
    return v.reduce((s, x) => s + x, 0) / v.length;
  };
  let accuracy = 0;
  for (const t of sims) {
    const correct = sims.reduce((n, s, i) => n + (s >= t === issame[i] ? 1 : 0), 0);
    accuracy = Math.max(accuracy, correct / sims.length);
  }
  return { accuracy, genuine: mean(true), impostor: mean(false) };
}

test("identities are distinguishable but a pixel baseline is far from solving the pairs", async () => {
  const out = path.join(dir, "pairs");
  const summary = await generateSyntheticDataset(out, {
    identities: 0,
    unlabeledIdentities: 0,
    pairs: 160,
    testIdentities: 40,
    seed: 11,
  });
  const pack = readVerificationPack(summary.paths.pairs);
  const images = await decodeBatch(pack.images, [112, 112], { layout: "nchw" });
  const { accuracy, genuine, impostor } = pixelBaseline(images, pack.issame);
  images.dispose();
  assert.ok(genuine > impostor + 0.05, `genuine pairs should look more alike: ${genuine} vs ${impostor}`);
  assert.ok(accuracy < 0.85, `the pixel baseline should be far below 100%, got ${accuracy}`);
  assert.ok(accuracy > 0.55, `the pairs should carry identity at all, got ${accuracy}`);
});
