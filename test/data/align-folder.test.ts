// Photos to crops without the real detector: a stub that "finds" faces where the test says, so that the pipeline
// (skips and their reasons, hostile files, folder and pack output, the report) is checked fast and exactly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { RgbImage } from "../../src/data/codec.js";
import { alignFolder, alignReportPath, type AlignRecord } from "../../src/data/align/align-folder.js";
import { alignPhoto } from "../../src/data/align/align-photo.js";
import type { DetectedFace, FaceDetector } from "../../src/data/align/detector.js";
import { arcfaceTemplate, type Point } from "../../src/data/align/template.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";

/** A face filling the image's shorter side, landmarks on the template scaled to it. */
function centredFace(image: RgbImage, shift: Point = [0, 0]): DetectedFace {
  const side = Math.min(image.width, image.height);
  const s = side / 112;
  return {
    box: { x: shift[0], y: shift[1], width: side, height: side },
    score: 0.9,
    landmarks: arcfaceTemplate(112).map(([x, y]): Point => [x * s + shift[0], y * s + shift[1]]),
  };
}

function stub(find: (image: RgbImage) => DetectedFace[]): FaceDetector {
  return { name: "stub", detect: async (image) => find(image) };
}

const oneFace = stub((image) => [centredFace(image)]);

async function photo(width: number, height: number, format: "jpeg" | "png" = "jpeg"): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 60 } } });
  return format === "jpeg" ? image.jpeg().toBuffer() : image.png().toBuffer();
}

test("alignPhoto: a face becomes a crop of the template's size; bad faces are skipped with their reason", async () => {
  const bytes = await photo(300, 200);
  const one = await alignPhoto(bytes, oneFace, { size: 128 });
  assert.deepEqual([one.crops.length, one.detected, one.skipped], [1, 1, []]);
  assert.deepEqual([one.crops[0]!.width, one.crops[0]!.height], [128, 128]);

  const small = stub((image) => [{ ...centredFace(image), box: { x: 0, y: 0, width: 20, height: 30 } }]);
  const tiny = await alignPhoto(bytes, small, { minFace: 32 });
  assert.deepEqual([tiny.crops.length, tiny.skipped[0]!.reason], [0, "too-small"]);

  const off = await alignPhoto(
    bytes,
    stub((image) => [centredFace(image, [-80, 0])]),
  );
  assert.deepEqual([off.crops.length, off.skipped[0]!.reason], [0, "landmarks-off-image"]);

  const crowd = stub((image) => [0, 1, 2].map((k) => ({ ...centredFace(image), score: 0.5 + k / 10 })));
  const two = await alignPhoto(bytes, crowd, { maxFaces: 2 });
  assert.deepEqual([two.crops.length, two.detected, two.skipped.map((s) => s.reason)], [2, 3, ["max-faces"]]);

  const none = await alignPhoto(
    bytes,
    stub(() => []),
  );
  assert.deepEqual([none.crops.length, none.skipped.map((s) => s.reason)], [0, ["no-face"]]);
});

test("alignPhoto: broken, empty, oversized, CMYK and 16-bit files give a skip or a crop, never a crash", async () => {
  const jpeg = await photo(160, 120);
  const cmyk = await sharp(jpeg).toColourspace("cmyk").jpeg().toBuffer();
  assert.equal((await sharp(cmyk).metadata()).space, "cmyk");
  const rgb16 = await sharp(await photo(160, 120, "png"))
    .toColourspace("rgb16")
    .png()
    .toBuffer();
  assert.equal((await sharp(rgb16).metadata()).depth, "ushort");
  const reasons = async (bytes: Uint8Array, maxPixels?: number): Promise<string[]> => {
    const result = await alignPhoto(bytes, oneFace, maxPixels === undefined ? {} : { maxPixels });
    return result.crops.length > 0 ? ["aligned"] : result.skipped.map((s) => s.reason);
  };
  assert.deepEqual(await reasons(jpeg.subarray(0, jpeg.length / 2)), ["unreadable"]);
  assert.deepEqual(await reasons(new Uint8Array(0)), ["unreadable"]);
  assert.deepEqual(await reasons(Buffer.from("not an image at all")), ["unreadable"]);
  assert.deepEqual(await reasons(jpeg, 10_000), ["too-large"]);
  assert.deepEqual(await reasons(cmyk), ["aligned"]);
  assert.deepEqual(await reasons(rgb16), ["aligned"]);
  // the 16-bit PNG's crop keeps its colour (decoded to 8-bit sRGB, not misread as twice the bytes)
  const crop = (await alignPhoto(rgb16, oneFace)).crops[0]!;
  const centre = (56 * 112 + 56) * 3;
  assert.deepEqual([...crop.pixels.subarray(centre, centre + 3)], [200, 120, 60]);
});

test("alignFolder: labeled subfolders into a pack, unlabeled into a crop folder, a report line per photo", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-align-"));
  try {
    const photos = join(root, "photos");
    for (const [who, names] of [
      ["ann", ["a.jpg", "b.jpg"]],
      ["bob", ["broken.jpg"]],
      ["cid", ["c.png"]],
    ] as const) {
      mkdirSync(join(photos, who, "nested"), { recursive: true });
      for (const name of names) {
        const bytes =
          name === "broken.jpg"
            ? Buffer.from("garbage")
            : await photo(150, 150, name.endsWith(".png") ? "png" : "jpeg");
        writeFileSync(join(photos, who, name), bytes);
      }
    }
    writeFileSync(join(photos, "cid", "nested", "d.jpg"), await photo(120, 100));
    writeFileSync(join(photos, "cid", "notes.txt"), "not a photo");

    const pack = join(root, "out", "d1.rec");
    const summary = await alignFolder(photos, pack, { labeled: true, workers: 0, detector: oneFace });
    assert.deepEqual(
      [summary.photos, summary.faces, summary.photosWithFaces, summary.identities, summary.skipped],
      [5, 4, 4, 2, { unreadable: 1 }],
    );
    const rec = RecDataset.open(pack);
    // bob has no face, so cid is label 1: the header layout's labels stay dense
    assert.deepEqual(
      Array.from({ length: rec.length }, (_, i) => rec.read(i).label),
      [0, 0, 1, 1],
    );
    const report = readFileSync(alignReportPath(pack), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AlignRecord);
    assert.deepEqual(
      report.map((r) => [r.file, r.faces]),
      [
        ["ann/a.jpg", 1],
        ["ann/b.jpg", 1],
        ["bob/broken.jpg", 0],
        ["cid/c.png", 1],
        ["cid/nested/d.jpg", 1],
      ],
    );
    assert.equal(report[2]!.skipped[0]!.reason, "unreadable");
    assert.deepEqual(summary.identitiesWithoutFaces, ["bob"]);

    // keepAllIdentities: bob keeps label 1 without samples, and the pack declares all three identities
    const kept = join(root, "out", "kept.rec");
    const all = await alignFolder(photos, kept, {
      labeled: true,
      keepAllIdentities: true,
      workers: 0,
      detector: oneFace,
    });
    assert.deepEqual([all.faces, all.identities, all.identitiesWithoutFaces], [4, 2, ["bob"]]);
    const keptRec = RecDataset.open(kept);
    assert.deepEqual(
      [keptRec.numClasses, Array.from({ length: keptRec.length }, (_, i) => keptRec.read(i).label)],
      [3, [0, 0, 2, 2]],
    );
    // an unlabeled pack beside them would be read with their property file's identity count
    await assert.rejects(
      alignFolder(join(photos, "ann"), join(root, "out", "d2.rec"), { workers: 0, detector: oneFace }),
      /property describes a labeled pack in that folder.*write d2\.rec into a folder of its own/,
    );

    const crops = join(root, "crops");
    const flat = await alignFolder(join(photos, "ann"), crops, { workers: 0, detector: oneFace, size: 224 });
    assert.deepEqual([flat.faces, flat.identities], [2, null]);
    assert.deepEqual(readdirSync(crops).sort(), ["a_0.jpg", "align-report.jsonl", "b_0.jpg"]);
    const meta = await sharp(join(crops, "a_0.jpg")).metadata();
    assert.deepEqual([meta.width, meta.height], [224, 224]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("alignFolder: 10,000 photos stream into a pack in bounded memory", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-align-many-"));
  try {
    const photos = join(root, "photos");
    const bytes = await photo(64, 64);
    const count = 10_000;
    for (let d = 0; d < 100; d++) mkdirSync(join(photos, `d${d}`), { recursive: true });
    for (let i = 0; i < count; i++) writeFileSync(join(photos, `d${i % 100}`, `${i}.jpg`), bytes);
    // the resident size every 1,000 photos: a leak of what each photo needs (its 12 KB of pixels, its 37 KB crop
    // before encoding) would add 400 MB or more over the last 8,000
    const rss: number[] = [];
    const summary = await alignFolder(photos, join(root, "all.rec"), {
      workers: 0,
      detector: oneFace,
      onProgress: (done) => {
        if (done % 1000 === 0) rss.push(process.memoryUsage().rss);
      },
    });
    assert.deepEqual([summary.photos, summary.faces], [count, count]);
    const growth = (rss.at(-1)! - rss[1]!) / 2 ** 20;
    assert.ok(growth < 100, `the resident size grew by ${growth.toFixed(0)} MiB from photo 2,000 to 10,000`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
