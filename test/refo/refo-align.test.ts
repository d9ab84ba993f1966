// `data.align: true` in a refo config: D1 and D2 are folders of raw photos, which the data stage aligns with the
// shipped detector into packs in the run folder, once; every identity subfolder keeps its label, so the heads
// planned from the subfolder count before aligning fit the packs after it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import sharp from "sharp";
import { runRefo } from "../../src/refo/index.js";
import { openDataset } from "../../src/data/index.js";
import { TINY_RUN } from "./tiny-synthetic.js";

const SAMPLES = join(dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")), "demo");

/** D1: ann and bob with three photos of several people each (the largest face is kept: six, the fewest the ID
 *  sample takes), cid with a photo of a wall; D2: one photo of five people. */
async function photoFolders(root: string): Promise<{ people: string; crowd: string }> {
  const people = join(root, "people");
  const crowd = join(root, "crowd");
  for (const [who, samples] of [
    ["ann", ["sample1.jpg", "sample3.jpg", "sample5.jpg"]],
    ["bob", ["sample2.jpg", "sample4.jpg", "sample6.jpg"]],
  ] as const) {
    mkdirSync(join(people, who), { recursive: true });
    for (const sample of samples) copyFileSync(join(SAMPLES, sample), join(people, who, sample));
  }
  mkdirSync(join(people, "cid"));
  const wall = sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 90, b: 80 } } });
  writeFileSync(join(people, "cid", "wall.jpg"), await wall.jpeg().toBuffer());
  mkdirSync(crowd);
  copyFileSync(join(SAMPLES, "sample5.jpg"), join(crowd, "group.jpg"));
  return { people, crowd };
}

const config = (people: string, crowd: string, changes: object = {}) => ({
  ...TINY_RUN,
  name: "tiny-align",
  data: { labeled: people, unlabeled: crowd, align: true, alignment: { workers: 1 } },
  teacher: { ...TINY_RUN.teacher, batchSize: 2 },
  student: { ...TINY_RUN.student, batchSize: 2 },
  ...changes,
});

test("data.align: bad settings fail before any stage, naming the key and what to do", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-align-"));
  try {
    const { people, crowd } = await photoFolders(root);
    const dry = (changes: object) =>
      runRefo(config(people, crowd, changes), { runDir: join(root, "run"), dryRun: true });
    await assert.rejects(
      dry({ data: { align: true } }),
      /data\.align is set without data\.labeled: name the folder of photos/,
    );
    await assert.rejects(dry({ baselines: ["crd"] }), /baselines lists crd, whose memory banks need D1's exact size/);
    const file = join(people, "ann", "sample1.jpg");
    await assert.rejects(
      dry({ data: { labeled: file, align: true } }),
      /data\.labeled .*sample1\.jpg is a file, but data\.align reads a folder of photos/,
    );
    await assert.rejects(
      dry({ data: { labeled: join(people, "ann"), align: true } }),
      /data\.labeled .*ann: labeled photos need one subfolder per identity, and there is none/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("data.align: the data stage aligns D1 and D2 into packs once; labels by subfolder, also without faces", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-align-"));
  try {
    const { people, crowd } = await photoFolders(root);
    const runDir = join(root, "run");
    const { plan } = await runRefo(config(people, crowd), { runDir, dryRun: true });
    const data = plan.find((p) => p.id === "data")!;
    assert.deepEqual([data.title, data.status], ["detect and align the faces of D1 and D2", "run"]);

    await runRefo(config(people, crowd), { runDir, only: "data", log: () => undefined });
    const d1 = openDataset(join(runDir, "data", "aligned", "labeled", "labeled.rec"));
    const d2 = openDataset(join(runDir, "data", "aligned", "unlabeled", "unlabeled.rec"));
    try {
      // one crop per photo of ann and bob; cid keeps label 2 without samples, so the heads' 3 classes fit
      assert.equal(d1.numClasses, 3);
      assert.deepEqual(
        Array.from({ length: d1.length }, (_, i) => d1.read(i).label),
        [0, 0, 0, 1, 1, 1],
      );
      assert.equal(d2.length, 5);
      assert.deepEqual(d1.read(0).image.subarray(0, 2), new Uint8Array([0xff, 0xd8])); // JPEG crops
    } finally {
      d1.close();
      d2.close();
    }
    const summary = JSON.parse(readFileSync(join(runDir, "stages", "data", "alignment.json"), "utf8")) as {
      labeled: { identitiesWithoutFaces: string[]; skipped: Record<string, number> };
    };
    assert.deepEqual(summary.labeled.identitiesWithoutFaces, ["cid"]);
    assert.equal(summary.labeled.skipped["no-face"], 1);

    // cached: done on the next start; an alignment setting or a changed photo folder reruns it
    const status = async (changes: object = {}) =>
      (await runRefo(config(people, crowd, changes), { runDir, dryRun: true })).plan.find((p) => p.id === "data")!
        .status;
    assert.equal(await status(), "done");
    assert.equal(await status({ data: { ...config(people, crowd).data, alignment: { minFace: 40 } } }), "invalidated");
    copyFileSync(join(SAMPLES, "sample6.jpg"), join(people, "ann", "sample6.jpg"));
    assert.equal(await status(), "invalidated");

    // preflight counted 8 photos in D1; the 7 faces found leave no batch of 8, said before any training
    const tooLarge = config(people, crowd, { student: { ...TINY_RUN.student, batchSize: 8 } });
    await assert.rejects(
      runRefo(tooLarge, { runDir: join(root, "run-large"), log: () => undefined }),
      /after aligning the photos.*student\.batchSize is 8, more than the 7 images of D1/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
