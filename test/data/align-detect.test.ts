// The shipped detector end to end: synthetic faces placed in larger scenes at known positions, scales and
// in-plane rotations; the package's own photographs; an aligned crop aligned again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { decodeImage, type RgbImage } from "../../src/data/codec.js";
import { alignFolder } from "../../src/data/align/align-folder.js";
import { alignPhoto } from "../../src/data/align/align-photo.js";
import { faceApiDetector } from "../../src/data/align/face-api.js";
import { transformPoint, type AffineMatrix } from "../../src/data/align/similarity.js";
import { arcfaceTemplate, type Point } from "../../src/data/align/template.js";
import { alignmentMatrix, warpAffine } from "../../src/data/align/warp.js";
import { makeIdentity } from "../../src/data/synthetic/identity.js";
import { drawBatch, finishBatch } from "../../src/data/synthetic/render.js";

const detector = faceApiDetector();
const FACE = 224;
const SCENE: [number, number] = [360, 480];

function similarity(s: number, degrees: number, tx: number, ty: number): AffineMatrix {
  const t = (degrees * Math.PI) / 180;
  return [
    [s * Math.cos(t), -s * Math.sin(t), tx],
    [s * Math.sin(t), s * Math.cos(t), ty],
  ];
}

function distance(a: Point, b: Point): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

async function syntheticFaces(count: number): Promise<RgbImage[]> {
  const requests = Array.from({ length: count }, (_, i) => ({
    identity: makeIdentity(i, { seed: 7, difficulty: 0.5 }),
    photoSeed: 100 + i,
  }));
  const drawn = await drawBatch(requests, { size: FACE, difficulty: 0.5, nuisance: 0 });
  const jpegs = await finishBatch(drawn, FACE, 1);
  return Promise.all(jpegs.map((jpeg) => decodeImage(jpeg)));
}

test("synthetic faces in scenes: after alignment the landmarks lie within 8 px of the template", async (t) => {
  const faces = await syntheticFaces(2);
  const template = arcfaceTemplate(112);
  // (scale, degrees, x, y) of the face's top-left corner in the 480x360 scene; the SSD misses these drawn faces
  // below about 150 px (real faces of that size it finds), so the scales stay at 1-1.2
  const placements: [number, number, number, number][] = [
    [1, 0, 30, 40],
    [1, 20, 260, 60],
    [1.2, -25, 150, 30],
  ];
  const errors: number[] = [];
  for (const [f, face] of faces.entries()) {
    // reference landmarks: the face on a plain canvas, unrotated, at its own scale
    const reference = await (await detector).detect(warpAffine(face, similarity(1, 0, 60, 40), [320, 344]));
    assert.equal(reference.length, 1, `synthetic face ${f}: one face found on its own canvas`);
    const truth = reference[0]!.landmarks.map(([x, y]): Point => [x - 60, y - 40]);
    for (const [s, degrees, x, y] of placements) {
      const placement = similarity(s, degrees, x, y);
      const scene = warpAffine(face, placement, SCENE);
      const found = await (await detector).detect(scene);
      assert.equal(found.length, 1, `face ${f} at scale ${s}, ${degrees} degrees: found ${found.length} faces`);
      const aligned = alignmentMatrix(found[0]!.landmarks, 112);
      truth.forEach((p, k) => {
        const onCrop = transformPoint(aligned, transformPoint(placement, p));
        errors.push(distance(onCrop, template[k]!));
      });
    }
  }
  const worst = Math.max(...errors);
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  t.diagnostic(`landmarks from the template after alignment: mean ${mean.toFixed(2)} px, worst ${worst.toFixed(2)} px`);
  assert.ok(worst < 8, `worst landmark ${worst.toFixed(2)} px from the template`);
  assert.ok(mean < 4, `mean landmark error ${mean.toFixed(2)} px`);
});

const samples = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo");

test("the photographs shipped with face-api: every face found and aligned", async () => {
  // 3 to 5 people per photo, by eye; face-api finds 22 of them
  const expected: Record<string, number> = {
    "sample1.jpg": 3,
    "sample2.jpg": 3,
    "sample3.jpg": 3,
    "sample4.jpg": 4,
    "sample5.jpg": 5,
    "sample6.jpg": 4,
  };
  const files = readdirSync(samples).filter((name) => /^sample\d\.jpg$/.test(name));
  assert.deepEqual(files.sort(), Object.keys(expected));
  for (const name of files) {
    const photo = await alignPhoto(readFileSync(join(samples, name)), await detector);
    assert.equal(photo.crops.length, expected[name], `${name}: ${JSON.stringify(photo.skipped)}`);
    for (const crop of photo.crops) assert.deepEqual([crop.width, crop.height], [112, 112]);
  }
});

test("aligning an aligned crop again changes it little", async (t) => {
  const photo = await alignPhoto(readFileSync(join(samples, "sample1.jpg")), await detector);
  const crop = photo.crops[0]!;
  // the crop on a larger canvas, as a detector needs some context around a face
  const canvas = warpAffine(crop, similarity(2, 0, 112, 112), [448, 448]);
  const found = await (await detector).detect(canvas);
  assert.equal(found.length, 1);
  const again = alignmentMatrix(found[0]!.landmarks, 112);
  // the composite map from the first crop to the second: close to the identity
  const corners: Point[] = [
    [0, 0],
    [111, 0],
    [0, 111],
    [111, 111],
  ];
  const moved = corners.map((p) => distance(transformPoint(again, transformPoint(similarity(2, 0, 112, 112), p)), p));
  t.diagnostic(`the corners of a crop aligned again moved by up to ${Math.max(...moved).toFixed(2)} px`);
  assert.ok(Math.max(...moved) < 5, `corners moved by up to ${Math.max(...moved).toFixed(2)} px`);
});

test("alignFolder with a worker thread: the shipped detector in the worker, crops and skips in the report", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-align-worker-"));
  try {
    const photos = join(root, "photos");
    mkdirSync(photos);
    copyFileSync(join(samples, "sample2.jpg"), join(photos, "people.jpg"));
    writeFileSync(join(photos, "truncated.jpg"), readFileSync(join(samples, "sample2.jpg")).subarray(0, 5000));
    const summary = await alignFolder(photos, join(root, "crops"), { workers: 1 });
    assert.deepEqual([summary.photos, summary.faces, summary.skipped], [2, 3, { unreadable: 1 }]);
    assert.deepEqual(readdirSync(join(root, "crops")).sort(), [
      "align-report.jsonl",
      "people_0.jpg",
      "people_1.jpg",
      "people_2.jpg",
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
