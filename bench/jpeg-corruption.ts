// How many mid-stream JPEG corruptions each decoding path of the loader detects: seeded damage to the
// entropy-coded data of synthetic face JPEGs (the header and the end-of-image marker intact), decoded by the
// loader's own sample loader with the fast path (@napi-rs/image) and with strictDecode (sharp, failOn warning).
// An undetected corruption is "silent" when its pixels differ from the clean image's (a wrong training image).
// Also the CPU cost of each path per clean image. The loader's img/s with strictDecode: bench/data.ts --strict.
// Run: `npx tsc -p tsconfig.json --outDir dist-bench && node dist-bench/bench/jpeg-corruption.js`; see README.md.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { jpegScanStart } from "../src/data/codec.js";
import { loadSamples, type LoadedSamples } from "../src/data/loader/load-samples.js";
import { MemorySource } from "../src/data/memory.js";
import { RecDataset } from "../src/data/recordio/rec-dataset.js";
import { Rng } from "../src/data/rng.js";
import { generateSyntheticDataset } from "../src/data/synthetic/generate.js";
import { benchArgs, numberArg, ROOT } from "./options.js";

const USAGE = `usage: node dist-bench/bench/jpeg-corruption.js [options]
  --count N    corruptions of each kind (default 200)
  --seed S     the corruptions' seed (default 1)
  --out FILE   JSON output (default bench/out/jpeg-corruption.json)`;

const opts = benchArgs(USAGE, { count: { type: "string" }, seed: { type: "string" }, out: { type: "string" } });
const COUNT = numberArg(USAGE, "count", opts.count, 200);
const SEED = numberArg(USAGE, "seed", opts.seed, 1, { min: 0 });
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "jpeg-corruption.json");
const DATA = path.join(ROOT, "bench", "out", "corruption-faces");
const SIZE: [number, number] = [112, 112];

/** Damage to the scan data [start, end) of a JPEG, in place. */
type Corruption = (jpeg: Uint8Array, start: number, end: number, rng: Rng) => void;

const runAt = (start: number, end: number, length: number, rng: Rng): number => start + rng.int(end - start - length);

const KINDS: Record<string, Corruption> = {
  "random run (4-32 bytes)": (jpeg, start, end, rng) => {
    const length = 4 + rng.int(29);
    const at = runAt(start, end, length, rng);
    for (let i = at; i < at + length; i++) jpeg[i] = rng.int(256);
  },
  "zeroed run (4-32 bytes)": (jpeg, start, end, rng) => {
    const length = 4 + rng.int(29);
    const at = runAt(start, end, length, rng);
    jpeg.fill(0, at, at + length);
  },
  "one bit flipped": (jpeg, start, end, rng) => {
    jpeg[runAt(start, end, 1, rng)]! ^= 1 << rng.int(8);
  },
};

/** Where the entropy-coded data starts. */
function scanStart(jpeg: Uint8Array): number {
  const start = jpegScanStart(jpeg);
  if (start === null) throw new Error("a JPEG without a start-of-scan segment");
  return start;
}

/** 200 synthetic 112x112 face JPEGs (quality 40-95), generated once. */
async function faces(): Promise<Uint8Array[]> {
  const rec = path.join(DATA, "train", "train.rec");
  if (!existsSync(rec)) {
    mkdirSync(DATA, { recursive: true });
    const none = { unlabeledIdentities: 0, pairs: 0, testIdentities: 0 };
    await generateSyntheticDataset(DATA, { seed: 0, identities: 50, imagesPerIdentity: 4, ...none });
  }
  const dataset = RecDataset.open(rec);
  const images = Array.from({ length: dataset.length }, (_, i) => dataset.read(i).image);
  dataset.close();
  return images;
}

/** Every image through the loader's sample loader, corrupt ones skipped (and reported). */
function decodeAll(images: Uint8Array[], strictDecode: boolean): Promise<LoadedSamples> {
  const source = new MemorySource("bench", images, new Int32Array(images.length).fill(-1), null);
  const request = { positions: Uint32Array.from(images.keys()), flips: new Uint8Array(images.length) };
  return loadSamples(source, request, { size: SIZE, skipCorrupt: true, strictDecode });
}

interface Outcome {
  detected: number;
  /** Decoded without an error into pixels other than the clean image's. */
  silent: number;
}

/** What one path made of the corrupted images, against its own decoding of the clean ones. */
async function outcome(
  corrupted: Uint8Array[],
  bases: number[],
  clean: LoadedSamples,
  strict: boolean,
): Promise<Outcome> {
  const loaded = await decodeAll(corrupted, strict);
  const frame = SIZE[0] * SIZE[1] * 3;
  let silent = 0;
  loaded.positions.forEach((position, k) => {
    const got = loaded.pixels.subarray(k * frame, (k + 1) * frame);
    const want = clean.pixels.subarray(bases[position]! * frame, (bases[position]! + 1) * frame);
    if (got.some((v, i) => v !== want[i])) silent++;
  });
  return { detected: loaded.skipped.length, silent };
}

/**
 * CPU milliseconds per image of one path over the clean images, 5 times (the process's, libvips' threads included).
 * Fresh copies each time: libvips caches the decoding of a buffer it has seen.
 */
async function cpuPerImage(images: Uint8Array[], strict: boolean): Promise<number> {
  const copies = Array.from({ length: 5 }, () => images.map((image) => Uint8Array.from(image))).flat();
  const start = process.cpuUsage();
  await decodeAll(copies, strict);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / copies.length;
}

const images = await faces();
const clean = { fast: await decodeAll(images, false), strict: await decodeAll(images, true) };
if (clean.fast.count !== images.length || clean.strict.count !== images.length) {
  throw new Error("a clean image failed to decode");
}
const rows: { kind: string; count: number; fast: Outcome; strict: Outcome }[] = [];
for (const [k, [kind, corrupt]] of Object.entries(KINDS).entries()) {
  const rng = new Rng(SEED * 1000 + k);
  const bases = Array.from({ length: COUNT }, () => rng.int(images.length));
  const corrupted = bases.map((b) => {
    const jpeg = Uint8Array.from(images[b]!);
    corrupt(jpeg, scanStart(jpeg), jpeg.length - 2, rng);
    return jpeg;
  });
  rows.push({
    kind,
    count: COUNT,
    fast: await outcome(corrupted, bases, clean.fast, false),
    strict: await outcome(corrupted, bases, clean.strict, true),
  });
}
const cpu = { fastMs: await cpuPerImage(images, false), strictMs: await cpuPerImage(images, true) };

const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, load ${os.loadavg()[0]!.toFixed(1)}`,
  images: images.length,
  seed: SEED,
  rows,
  cpuPerCleanImage: cpu,
};
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");

const pct = (n: number): string => `${n} (${((100 * n) / COUNT).toFixed(0)}%)`.padStart(10);
console.log(
  `JPEG corruption: ${result.machine}; ${COUNT} per kind over ${images.length} synthetic faces, seed ${SEED}`,
);
console.log(`\n${"kind".padEnd(24)} | fast detected | fast silent | strict detected | strict silent`);
for (const r of rows) {
  console.log(
    `${r.kind.padEnd(24)} | ${pct(r.fast.detected).padStart(13)} | ${pct(r.fast.silent).padStart(11)} | ` +
      `${pct(r.strict.detected).padStart(15)} | ${pct(r.strict.silent).padStart(13)}`,
  );
}
console.log(
  `\nCPU per clean 112x112 JPEG: fast ${cpu.fastMs.toFixed(2)} ms, strict ${cpu.strictMs.toFixed(2)} ms ` +
    `(${(cpu.strictMs / cpu.fastMs).toFixed(1)}x)`,
);
console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
