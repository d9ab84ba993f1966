import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { decodeJpegSync, encodeJpeg, jpegScanStart } from "../../src/data/codec.js";
import { CorruptRecordError } from "../../src/data/errors.js";
import { FaceLoader, type LoaderOptions } from "../../src/data/loader/loader.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";
import { RecWriter } from "../../src/data/recordio/rec-writer.js";
import { packFolder } from "../../src/data/pack.js";
import { verifyDataset } from "../../src/data/verify.js";
import { train } from "../../src/train/index.js";
import { rawImage, tempDir } from "./helpers.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const dir = tempDir("strict");
const SIZE = 32;
const N = 8;
const BAD = 5; // position 5: record key 6 in the header layout
// image i has red 30 i and label i >> 1 (4 identities of 2)
const images = await Promise.all(
  Array.from({ length: N }, (_, i) => encodeJpeg({ pixels: rawImage(30 * i, SIZE, SIZE), width: SIZE, height: SIZE })),
);

/** Overwrites 8 bytes in the middle of the scan data with 0xaa: libjpeg reports a bad Huffman code. */
function damageScan(jpeg: Uint8Array): Uint8Array {
  const out = Uint8Array.from(jpeg);
  const start = jpegScanStart(out);
  assert.ok(start !== null, "the JPEG has a start-of-scan segment");
  const middle = start + Math.floor((out.length - 2 - start) / 2);
  out.fill(0xaa, middle - 4, middle + 4);
  return out;
}

const damaged = damageScan(images[BAD]!);

function writePack(name: string, corrupt: boolean): string {
  mkdirSync(path.join(dir, name));
  const rec = path.join(dir, name, "train.rec");
  const writer = new RecWriter(rec, { imageSize: [SIZE, SIZE] });
  images.forEach((image, i) => writer.add(corrupt && i === BAD ? damaged : image, i >> 1));
  writer.close();
  return rec;
}

const corruptRec = writePack("corrupt", true);
const cleanRec = writePack("clean", false);

interface Seen {
  labels: number[];
  positions: number[];
  /** The image each sample holds, read back from its red channel. */
  images: number[];
}

async function load(rec: string, options: Partial<LoaderOptions>): Promise<{ seen: Seen[]; skipped: number }> {
  const loader = new FaceLoader(RecDataset.open(rec), {
    batchSize: 4,
    imageSize: [SIZE, SIZE],
    shuffle: false,
    flip: false,
    dropLast: false,
    ...options,
  });
  const seen: Seen[] = [];
  try {
    for await (const batch of loader.epoch()) {
      const red = torch.tidy(() => batch.images.select(1, 0).select(1, 0).select(1, 0).toNumbers());
      seen.push({
        labels: batch.labels.toNumbers(),
        positions: batch.indices.toNumbers(),
        images: red.map((v) => Math.round((v * 127.5 + 127.5) / 30)),
      });
      batch[Symbol.dispose]();
    }
    return { seen, skipped: loader.skipped };
  } finally {
    await loader.close();
    loader.source.close();
  }
}

test("the fixture: damaged scan data in a complete JPEG, which the fast decoder passes silently", async () => {
  assert.deepEqual([damaged[0], damaged[1]], [0xff, 0xd8]);
  assert.deepEqual([damaged.at(-2), damaged.at(-1)], [0xff, 0xd9], "the end-of-image marker is still there");
  assert.notDeepEqual(damaged, images[BAD]);
  assert.ok(decodeJpegSync(damaged, [SIZE, SIZE]) !== null, "the fast decoder returns pixels without an error");
  const { seen, skipped } = await load(corruptRec, { workers: 0 });
  assert.deepEqual(
    seen.flatMap((s) => s.positions),
    [...Array(N).keys()],
    "without strictDecode, the damaged record reaches the batches",
  );
  assert.equal(skipped, 0);
});

test("strictDecode: damaged scan data is a CorruptRecordError naming the pack and the record key", async () => {
  for (const workers of [0, 1]) {
    await assert.rejects(
      load(corruptRec, { workers, strictDecode: true }),
      (e: Error) =>
        e instanceof CorruptRecordError && e.message.startsWith(`${corruptRec}: record key 6: cannot decode the image`),
    );
  }
  const clean = await load(cleanRec, { workers: 1, strictDecode: true });
  assert.deepEqual(
    clean.seen.flatMap((s) => s.images),
    [...Array(N).keys()],
  );
});

test("strictDecode with skipCorrupt: exactly the damaged record is counted, logged and skipped", async () => {
  const logged: string[] = [];
  const { seen, skipped } = await load(corruptRec, {
    workers: 2,
    strictDecode: true,
    skipCorrupt: true,
    onSkip: (e) => logged.push(e.message),
  });
  assert.equal(skipped, 1);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /record key 6: cannot decode/);
  const kept = [0, 1, 2, 3, 4, 6, 7];
  assert.deepEqual(
    seen.flatMap((s) => s.positions),
    kept,
  );
  assert.deepEqual(
    seen.flatMap((s) => s.images),
    kept,
    "every sample holds its own image",
  );
  assert.deepEqual(
    seen.flatMap((s) => s.labels),
    kept.map((i) => i >> 1),
  );
});

test("verifyDataset: reports exactly the damaged record of a pack or folder, nothing for a clean pack", async () => {
  const report = await verifyDataset(corruptRec, { workers: 2 });
  assert.equal(report.checked, N);
  assert.equal(report.problems.length, 1);
  assert.match(report.problems[0]!, new RegExp(`^${corruptRec}: record key 6: cannot decode`));
  const progress: number[] = [];
  const clean = await verifyDataset(cleanRec, { workers: 0, onProgress: (done) => progress.push(done) });
  assert.deepEqual(clean, { path: cleanRec, checked: N, problems: [] });
  assert.deepEqual(progress, [N], "one batch of 64");

  const folder = path.join(dir, "folder");
  images.forEach((image, i) => {
    mkdirSync(path.join(folder, `id${i >> 1}`), { recursive: true });
    writeFileSync(path.join(folder, `id${i >> 1}`, `${i}.jpg`), i === BAD ? damaged : image);
  });
  const files = await verifyDataset(folder, { workers: 1 });
  assert.equal(files.checked, N);
  assert.equal(files.problems.length, 1);
  assert.ok(files.problems[0]!.startsWith(`${path.join(folder, "id2", "5.jpg")}: cannot decode`), files.problems[0]);
});

test("facekd data verify: exit 1 listing the damaged record (stdout, --json, --out), exit 0 on a clean pack", () => {
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [MAIN, "data", "verify", ...args], { encoding: "utf8" });
  const text = run(corruptRec, "--workers", "1");
  assert.equal(text.status, 1, text.stderr);
  assert.match(text.stdout, /8 records checked, 1 bad/);
  assert.match(text.stdout, /record key 6: cannot decode/);
  assert.match(text.stderr, /1 of 8 records are bad.*facekd data pack .* --skip-corrupt/s);

  const out = path.join(dir, "bad.txt");
  const json = run(corruptRec, "--json", "--out", out);
  assert.equal(json.status, 1, json.stderr);
  const report = JSON.parse(json.stdout) as { checked: number; bad: number; problems: string[] };
  assert.equal(report.checked, N);
  assert.equal(report.bad, 1);
  assert.match(report.problems[0]!, /record key 6/);
  assert.deepEqual(readFileSync(out, "utf8").split("\n"), [report.problems[0], ""]);

  const clean = run(cleanRec, "--json");
  assert.equal(clean.status, 0, clean.stderr);
  assert.equal((JSON.parse(clean.stdout) as { bad: number }).bad, 0);
});

test("repacking a pack with --skip-corrupt leaves the damaged record out and keeps every label", async () => {
  const repacked = path.join(dir, "repacked", "train.rec");
  const summary = await packFolder(corruptRec, repacked, { skipCorrupt: true, onSkip: () => {} });
  assert.equal(summary.images, N - 1);
  assert.equal(summary.skipped, 1);
  assert.deepEqual((await verifyDataset(repacked, { workers: 0 })).problems, []);
  const { seen } = await load(repacked, { workers: 0, strictDecode: true });
  const kept = [0, 1, 2, 3, 4, 6, 7];
  assert.deepEqual(
    seen.flatMap((s) => s.images),
    kept,
  );
  assert.deepEqual(
    seen.flatMap((s) => s.labels),
    kept.map((i) => i >> 1),
  );
});

test("train config: data.strictDecode stops the run at the damaged record, data.skipCorrupt skips it", async () => {
  const config = {
    runDir: path.join(dir, "run"),
    model: { name: "mbf", options: { widthMultiplier: 0.25, inputSize: SIZE, embeddingSize: 16 } },
    losses: [{ name: "arcface", options: { numClasses: 4, embeddingSize: 16 } }],
    optimizer: { type: "sgd" as const, lr: 0.05 },
    steps: 2, // one epoch of 2 batches of 4: every record
    batchSize: 4,
    threads: 1,
  };
  const log = (): void => {};
  await assert.rejects(
    train({ ...config, data: { path: corruptRec, workers: 0, strictDecode: true } }, { log }),
    (e: Error) => e instanceof CorruptRecordError && /record key 6: cannot decode/.test(e.message),
  );
  const fast = await train(
    { ...config, runDir: path.join(dir, "fast"), data: { path: corruptRec, workers: 0 } },
    { log },
  );
  assert.equal(fast.step, 2, "the fast path trains on the damaged image");
  const lines: string[] = [];
  const skipping = await train(
    {
      ...config,
      runDir: path.join(dir, "skip"),
      data: { path: corruptRec, workers: 0, strictDecode: true, skipCorrupt: true },
    },
    { log: (line) => lines.push(line) },
  );
  assert.equal(skipping.step, 2, "data.skipCorrupt trains on the other records");
  assert.deepEqual(
    lines.filter((l) => l.startsWith("skipping")).map((l) => /record key (\d+)/.exec(l)?.[1]),
    ["6"],
  );
});
