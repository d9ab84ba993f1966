import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import * as torch from "../../src/torch/index.js";
import { decodeImage, decodeJpegSync, jpegSize } from "../../src/data/codec.js";
import { CorruptRecordError, DataError } from "../../src/data/errors.js";
import { FaceLoader, type Batch, type LoaderOptions } from "../../src/data/loader/loader.js";
import { MemorySource } from "../../src/data/memory.js";
import { RecDataset } from "../../src/data/recordio/rec-dataset.js";
import { RecWriter } from "../../src/data/recordio/rec-writer.js";
import { decodeBatch } from "../../src/data/transforms.js";
import { jpeg, png, tempDir } from "./helpers.js";

const dir = tempDir("loader");
const N = 10;
// image i has red = 20 i, so a batch tells which samples it holds; label = i % 3
const images = await Promise.all(Array.from({ length: N }, (_, i) => png(20 * i)));
const source = new MemorySource(
  "memory",
  images,
  Array.from({ length: N }, (_, i) => i % 3),
  3,
);

interface Seen {
  indices: number[];
  /** The batch's own `indices` (dataset positions). */
  positions: number[];
  labels: number[];
  flipped: boolean[];
  images: number[];
}

/** What a batch holds: sample indices (from the red channel), labels, which were mirrored, and the raw values. */
function describe(batch: Batch): Seen {
  const [n, , h, w] = batch.images.shape as [number, number, number, number];
  const values = torch.tidy(() => batch.images.contiguous().toNumbers());
  const at = (i: number, c: number, y: number, x: number): number => values[((i * 3 + c) * h + y) * w + x]!;
  const seen: Seen = {
    indices: [],
    positions: batch.indices.toNumbers(),
    labels: batch.labels.toNumbers(),
    flipped: [],
    images: values,
  };
  for (let i = 0; i < n; i++) {
    seen.indices.push(Math.round((at(i, 0, 0, 0) * 127.5 + 127.5) / 20));
    // green = 4 x (column): decreasing along the row when mirrored
    seen.flipped.push(at(i, 1, 0, 0) > at(i, 1, 0, w - 1));
  }
  return seen;
}

async function collect(loader: FaceLoader, epochs = 1): Promise<Seen[]> {
  const out: Seen[] = [];
  for (let e = 0; e < epochs; e++) {
    for await (const batch of loader.epoch()) {
      out.push(describe(batch));
      batch[Symbol.dispose]();
    }
  }
  return out;
}

async function run(options: Partial<LoaderOptions>, epochs = 1): Promise<Seen[]> {
  const loader = new FaceLoader(source, { batchSize: 4, imageSize: [16, 16], workers: 0, ...options });
  try {
    return await collect(loader, epochs);
  } finally {
    await loader.close();
  }
}

test("decoding: normalization (x - 127.5) / 127.5, both layouts, flips, resizing, grey images", async () => {
  const nchw = await decodeBatch([images[3]!], [16, 16], { layout: "nchw" });
  const cl = await decodeBatch([images[3]!], [16, 16], { flip: true });
  assert.ok(nchw.isContiguous() && cl.isContiguous("channels_last"));
  const v = nchw.toNumbers();
  const near = (a: number | undefined, x: number, message?: string): void =>
    assert.ok(Math.abs(a! - (x - 127.5) / 127.5) < 1e-6, message ?? `${a} is not (${x} - 127.5) / 127.5`);
  near(v[0], 60); // red of pixel (0, 0)
  near(v[256 + 5], 20); // green of pixel (0, 5) = 4 * 5
  const mirrored = cl.contiguous().toNumbers();
  near(mirrored[256], 60, "green of (0, 0) after a flip is the last column's, 4 * 15");
  assert.deepEqual((await decodeBatch([images[3]!], [8, 12])).shape, [1, 3, 8, 12]);
  const grey = await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } })
    .png()
    .toBuffer();
  const decoded = await decodeImage(grey);
  assert.equal(decoded.pixels.length, 8 * 8 * 3);
  assert.equal(decoded.pixels[2], 200);
});

test("decoding: corrupt JPEG bytes are a CorruptRecordError naming the record", async () => {
  const good = await jpeg(100);
  await assert.rejects(
    decodeImage(good.subarray(0, good.length / 2), { what: "pack.rec: record key 9" }),
    (e: Error) => e instanceof CorruptRecordError && e.message.startsWith("pack.rec: record key 9: cannot decode"),
  );
  await assert.rejects(decodeImage(Uint8Array.of(1, 2, 3, 4)), CorruptRecordError);
});

test("decoding: the fast JPEG path matches sharp, declines what it does not handle, and refuses cut JPEGs", async () => {
  const bytes = await jpeg(100, 24, 16);
  assert.deepEqual(jpegSize(bytes), [16, 24]);
  const fast = decodeJpegSync(bytes, [16, 24])!;
  const slow = await decodeImage(bytes);
  const diff = fast.pixels.reduce((m, v, i) => Math.max(m, Math.abs(v - slow.pixels[i]!)), 0);
  assert.ok(diff <= 4, `the two decoders differ by at most rounding, got ${diff}`);
  assert.equal(decodeJpegSync(bytes, [24, 16]), null, "another size goes to sharp (which resizes)");
  assert.equal(decodeJpegSync(images[0]!, [16, 16]), null, "a PNG goes to sharp");
  const grey = await sharp(Buffer.alloc(256, 90), { raw: { width: 16, height: 16, channels: 1 } })
    .jpeg()
    .toBuffer();
  const rgb = decodeJpegSync(grey, [16, 16])!;
  assert.equal(rgb.pixels.length, 16 * 16 * 3, "a grey JPEG comes out as RGB");
  assert.ok(rgb.pixels.every((v) => Math.abs(v - 90) <= 1));
  assert.throws(
    () => decodeJpegSync(bytes.subarray(0, bytes.length - 30), [16, 24], "pack.rec: record key 3"),
    (e: Error) =>
      e instanceof CorruptRecordError && /record key 3: the JPEG data ends without its end-of-image/.test(e.message),
  );
});

test("loader: batches pair every image with its own label, drop-last, shapes and layout", async () => {
  const loader = new FaceLoader(source, { batchSize: 4, imageSize: [16, 16], workers: 0, seed: 3 });
  assert.equal(loader.batchesPerEpoch, 2);
  for await (const batch of loader.epoch()) {
    assert.deepEqual(batch.images.shape, [4, 3, 16, 16]);
    assert.ok(batch.images.isContiguous("channels_last"));
    assert.equal(batch.labels.dtype, "int64");
    assert.equal(batch.indices.dtype, "int64");
    const seen = describe(batch);
    assert.deepEqual(
      seen.labels,
      seen.indices.map((i) => i % 3),
    );
    assert.deepEqual(seen.positions, seen.indices, "indices name the dataset positions of the images");
    batch[Symbol.dispose]();
  }
  assert.deepEqual(loader.position, { epoch: 1, index: 0 });
  const all = await run({ dropLast: false, shuffle: false, flip: false });
  assert.deepEqual(
    all.map((b) => b.indices),
    [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ],
  );
  assert.ok(all.every((b) => b.flipped.every((f) => !f)));
});

test("loader: seeded shuffling repeats for a seed, differs between epochs and seeds, covers each sample once", async () => {
  const a = await run({ seed: 1, dropLast: false }, 2);
  const b = await run({ seed: 1, dropLast: false }, 2);
  const c = await run({ seed: 2, dropLast: false }, 2);
  const order = (runs: Seen[], epoch: number): number[] =>
    runs.slice(3 * epoch, 3 * epoch + 3).flatMap((s) => s.indices);
  assert.deepEqual(order(a, 0), order(b, 0));
  assert.deepEqual(order(a, 1), order(b, 1));
  assert.notDeepEqual(order(a, 0), order(a, 1));
  assert.notDeepEqual(order(a, 0), order(c, 0));
  assert.deepEqual(
    [...order(a, 0)].sort((x, y) => x - y),
    [...Array(N).keys()],
  );
  const flips = a.flatMap((s) => s.flipped);
  assert.ok(flips.includes(true) && flips.includes(false), "random flips mirror some images and not others");
  assert.deepEqual(
    flips,
    b.flatMap((s) => s.flipped),
  );
});

test("loader: worker threads give exactly the batches of the calling thread", async () => {
  const inline = await run({ seed: 5 }, 2);
  const threaded = await run({ seed: 5, workers: 2 }, 2);
  assert.deepEqual(threaded, inline);
});

test("loader: a saved position resumes with exactly the batches that were still to come", async () => {
  const options: LoaderOptions = { batchSize: 3, imageSize: [16, 16], workers: 1, seed: 9, dropLast: false };
  const full = new FaceLoader(source, options);
  const reference = await collect(full, 2); // 4 batches per epoch
  await full.close();

  const first = new FaceLoader(source, options);
  const iterator = first.epoch();
  const got: Seen[] = [];
  for (let k = 0; k < 2; k++) {
    const { value } = await iterator.next();
    got.push(describe(value as Batch));
    (value as Batch)[Symbol.dispose]();
  }
  const saved = first.position;
  assert.deepEqual(saved, { epoch: 0, index: 6 });
  await iterator.return(undefined);
  await first.close();

  const resumed = new FaceLoader(source, { ...options, position: saved });
  got.push(...(await collect(resumed, 2)).slice(0, 6));
  await resumed.close();
  assert.deepEqual(got, reference);
  assert.throws(() => new FaceLoader(source, { ...options, position: { epoch: 0, index: 11 } }), RangeError);
});

async function recWithCorruptRecord(): Promise<string> {
  const folder = path.join(dir, "corrupt");
  mkdirSync(folder, { recursive: true });
  const rec = path.join(folder, "train.rec");
  const writer = new RecWriter(rec, { imageSize: [16, 16] });
  for (let i = 0; i < 8; i++) {
    const bytes = await jpeg(30 * i);
    writer.add(i === 5 ? bytes.subarray(0, 40) : bytes, i >> 1); // key 6 holds a cut JPEG
  }
  writer.close();
  return rec;
}

test("loader: a corrupt JPEG stops with the record's key, or is counted, logged and skipped", async () => {
  const rec = await recWithCorruptRecord();
  const strict = new FaceLoader(RecDataset.open(rec), {
    batchSize: 4,
    imageSize: [16, 16],
    shuffle: false,
    workers: 1,
  });
  await assert.rejects(
    collect(strict),
    (e: Error) => e instanceof CorruptRecordError && e.message.startsWith(`${rec}: record key 6: cannot decode`),
  );
  await strict.close();

  const logged: string[] = [];
  const lenient = new FaceLoader(RecDataset.open(rec), {
    batchSize: 4,
    imageSize: [16, 16],
    shuffle: false,
    flip: false,
    workers: 2,
    skipCorrupt: true,
    onSkip: (e) => logged.push(e.message),
  });
  const batches = await collect(lenient);
  await lenient.close();
  assert.deepEqual(
    batches.map((b) => b.labels),
    [
      [0, 0, 1, 1],
      [2, 3, 3],
    ],
  );
  assert.deepEqual(
    batches.map((b) => b.positions),
    [
      [0, 1, 2, 3],
      [4, 6, 7],
    ],
    "the skipped record's position is left out of the batch's indices",
  );
  assert.equal(lenient.skipped, 1);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /record key 6/);
});

test("loader: unlabeled data where labels are needed, and images that contradict the property file", async () => {
  const unlabeled = new MemorySource("photos", images, new Int32Array(N).fill(-1), null);
  assert.throws(
    () => new FaceLoader(unlabeled, { batchSize: 2, labeled: true, workers: 0 }),
    (e: Error) => e instanceof DataError && /has no identity labels/.test(e.message),
  );
  // a property file that no image fits is named when the pack opens
  const rec = await recWithCorruptRecord();
  writeFileSync(path.join(path.dirname(rec), "property"), "4,112,112\n");
  assert.throws(() => RecDataset.open(rec), /property says the images are 112x112, but the first image of/);
  // a later image of another size is named when it is decoded
  const mixed = path.join(dir, "mixed", "train.rec");
  mkdirSync(path.dirname(mixed), { recursive: true });
  const writer = new RecWriter(mixed, { imageSize: [16, 16] });
  writer.add(await jpeg(10), 0);
  writer.add(await jpeg(20, 24, 24), 0);
  writer.close();
  const loader = new FaceLoader(RecDataset.open(mixed), { batchSize: 2, shuffle: false, workers: 0 });
  await assert.rejects(
    collect(loader),
    /record key 2: the image is 24x24 but the dataset's property file declares 16x16/,
  );
});

test("loader: closed in the middle of an epoch with reads ahead in flight, the process still exits cleanly", async () => {
  // a late reply used to unref the worker that close() was waiting on, and node exited with code 13
  const loaderModule = new URL("../../src/data/loader/loader.js", import.meta.url).href;
  const memoryModule = new URL("../../src/data/memory.js", import.meta.url).href;
  const script = `
    import { FaceLoader } from ${JSON.stringify(loaderModule)};
    import { MemorySource } from ${JSON.stringify(memoryModule)};
    const image = Buffer.from(${JSON.stringify(Buffer.from(await jpeg(90, 160, 160)).toString("base64"))}, "base64");
    const source = new MemorySource("m", Array(256).fill(image), Array(256).fill(0), 1);
    const loader = new FaceLoader(source, { batchSize: 16, imageSize: [112, 112], workers: 2 });
    let n = 0;
    for await (const batch of loader.epoch()) { batch[Symbol.dispose](); if (++n === 2) break; }
    await loader.close();
    console.log("closed");`;
  const file = path.join(dir, "close-mid-epoch.mjs"); // a file, not -e: worker threads inherit the flags
  writeFileSync(file, script);
  for (let i = 0; i < 4; i++) {
    const r = spawnSync(process.execPath, [file], { encoding: "utf8" });
    assert.equal(r.status, 0, `run ${i}: exit ${r.status}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), "closed");
  }
});
