// The data benchmark: decoded 112x112 images per second of facekd's loader alone (a .rec of JPEGs: read, decode,
// flip, normalize, batch as engine tensors) against arcface_torch's pipeline in PyTorch's DataLoader
// (bench/peers/data_torch.py) on the same file in the same run, and the share of an mbf training step that waits
// for data when the loader feeds it. Also how fast the synthetic generator makes the file.
// Run: `npx tsc -p tsconfig.json --outDir dist-bench && node dist-bench/bench/data.js [--quick]`; see bench/README.md.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as torch from "../src/torch/index.js";
import { SGD } from "../src/torch/optim/index.js";
import { FaceLoader } from "../src/data/loader/loader.js";
import { RecDataset } from "../src/data/recordio/rec-dataset.js";
import { generateSyntheticDataset } from "../src/data/synthetic/generate.js";
import { createModel, heads } from "../src/models/index.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const USAGE = `usage: node dist-bench/bench/data.js [options]
  --images N      images in the benchmark .rec (default 4096; made once by the synthetic generator, then reused)
  --batch B       loader batch (default 128)
  --workers W     loader worker threads, and the peer's DataLoader workers (default 2)
  --epochs E      epochs per timed run (default 3)
  --repeats R     timed runs on each side, alternating; the median is reported (default 3)
  --steps S       mbf training steps fed by the loader (default 6, batch 64; 0 skips)
  --quick         --images 2048 --epochs 2 --repeats 1 --steps 3
  --strict        the loader with strictDecode (libjpeg's strict checks on every image)
  --no-peer       skip the PyTorch peer
  --python PATH   the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE      JSON output (default bench/out/data.json)`;

const opts = benchArgs(USAGE, {
  images: { type: "string" },
  batch: { type: "string" },
  workers: { type: "string" },
  epochs: { type: "string" },
  repeats: { type: "string" },
  steps: { type: "string" },
  quick: { type: "boolean", default: false },
  strict: { type: "boolean", default: false },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});

const quick = opts.quick;
const IMAGES = numberArg(USAGE, "images", opts.images, quick ? 2048 : 4096, { min: 0 });
const BATCH = numberArg(USAGE, "batch", opts.batch, 128, { min: 0 });
const WORKERS = numberArg(USAGE, "workers", opts.workers, 2, { min: 0 });
const EPOCHS = numberArg(USAGE, "epochs", opts.epochs, quick ? 2 : 3, { min: 0 });
const REPEATS = Math.max(1, numberArg(USAGE, "repeats", opts.repeats, quick ? 1 : 3, { min: 0 }));
const STEPS = numberArg(USAGE, "steps", opts.steps, quick ? 3 : 6, { min: 0 });
const STRICT = opts.strict ?? false;
const PYTHON = peerPython(opts.python);
const root = ROOT;
const OUT = opts.out ?? path.join(root, "bench", "out", "data.json");
const PEER = path.join(root, "bench", "peers", "data_torch.py");
const DATA = path.join(root, "bench", "out", `data-${IMAGES}`);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The benchmark .rec: synthetic faces (64 per identity), made once and reused. */
async function benchmarkPack(): Promise<{ rec: string; generation: { seconds: number; cpuSeconds: number } | null }> {
  const rec = path.join(DATA, "train", "train.rec");
  if (existsSync(rec)) return { rec, generation: null };
  mkdirSync(DATA, { recursive: true });
  const start = performance.now();
  const cpu = process.cpuUsage();
  await generateSyntheticDataset(DATA, {
    identities: Math.ceil(IMAGES / 64),
    imagesPerIdentity: 64,
    unlabeledIdentities: 0,
    pairs: 0,
    testIdentities: 0,
  });
  const used = process.cpuUsage(cpu);
  return {
    rec,
    generation: { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6 },
  };
}

/** Images per second of the loader alone over EPOCHS epochs, timed from the first batch on. */
async function loaderRate(rec: string): Promise<number> {
  const loader = new FaceLoader(RecDataset.open(rec), {
    batchSize: BATCH,
    workers: WORKERS,
    seed: 1,
    strictDecode: STRICT,
  });
  let images = 0;
  let start = 0;
  for (let e = 0; e < EPOCHS; e++) {
    for await (const batch of loader.epoch()) {
      if (start === 0) start = performance.now();
      else images += batch.images.size(0);
      batch[Symbol.dispose]();
    }
  }
  await loader.close();
  loader.source.close();
  return images / ((performance.now() - start) / 1000);
}

function peerRate(rec: string): number {
  const out = execFileSync(PYTHON, [PEER, rec, String(BATCH), String(WORKERS), String(EPOCHS)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  return (JSON.parse(out.trim().split("\n").pop()!) as { images_per_second: number }).images_per_second;
}

/** mbf training steps (ArcFace head, SGD) fed by the loader: the share of wall time spent waiting for batches. */
async function mbfShare(rec: string): Promise<{ stepSeconds: number; waitShare: number; steps: number }> {
  const dataset = RecDataset.open(rec);
  torch.manualSeed(0);
  const model = createModel("mbf").to({ memoryFormat: "channels_last" });
  model.train();
  const head = new heads.PartialFC({
    margin: new heads.ArcFace(),
    embeddingSize: model.embeddingSize,
    numClasses: dataset.numClasses!,
  });
  const opt = new SGD([...model.parameters(), ...head.parameters()], { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
  const loader = new FaceLoader(dataset, {
    batchSize: 64,
    workers: WORKERS,
    seed: 2,
    labeled: true,
    strictDecode: STRICT,
  });
  const iterator = loader.epoch();
  let waiting = 0;
  let total = 0;
  // the first step (warm-up, and the loader's first batch) is not timed
  for (let s = 0; s <= STEPS; s++) {
    const t0 = performance.now();
    const { value, done } = await iterator.next();
    const t1 = performance.now();
    if (done) break;
    torch.tidy(() => {
      const loss = head.forward(model.forward(value.images), value.labels);
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
    value[Symbol.dispose]();
    if (s > 0) {
      waiting += t1 - t0;
      total += performance.now() - t0;
    }
  }
  await iterator.return(undefined);
  await loader.close();
  dataset.close();
  model.dispose();
  head.dispose();
  opt.dispose();
  return { stepSeconds: total / STEPS / 1000, waitShare: waiting / total, steps: STEPS };
}

const { rec, generation } = await benchmarkPack();
const peer = !opts["no-peer"] && existsSync(PYTHON) && existsSync(PEER);
const ours: number[] = [];
const theirs: number[] = [];
for (let r = 0; r < REPEATS; r++) {
  // alternate who goes first, so that background load on a shared machine hits both sides alike
  if (peer && r % 2 === 1) theirs.push(peerRate(rec));
  ours.push(await loaderRate(rec));
  if (peer && r % 2 === 0) theirs.push(peerRate(rec));
}
const mbf = STEPS > 0 ? await mbfShare(rec) : null;

const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? "cpu"}, load ${os.loadavg()[0]!.toFixed(1)}`,
  images: IMAGES,
  batch: BATCH,
  workers: WORKERS,
  strictDecode: STRICT,
  epochs: EPOCHS,
  rec: { path: rec, bytes: readFileSync(rec).length },
  generation,
  loader: { imagesPerSecond: median(ours), runs: ours },
  peer: peer ? { imagesPerSecond: median(theirs), runs: theirs } : null,
  mbf,
};
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, JSON.stringify(result, null, 2) + "\n");

const fmt = (n: number): string => n.toFixed(0).padStart(8);
console.log(`data benchmark: ${result.machine}; ${IMAGES} synthetic 112x112 JPEGs in a .rec`);
if (generation) {
  console.log(
    `generator: ${(IMAGES / generation.seconds).toFixed(0)} img/s wall, ` +
      `${((generation.cpuSeconds / IMAGES) * 1000).toFixed(1)} ms of CPU per image`,
  );
}
console.log(
  `\nloader alone (batch ${BATCH}, ${WORKERS} workers, shuffle + flip + normalize, ${EPOCHS} epochs, median of ${REPEATS})`,
);
const name = STRICT ? "facekd FaceLoader, strict" : "facekd FaceLoader        ";
console.log(`  ${name}  ${fmt(result.loader.imagesPerSecond)} img/s   (floor: 1000)`);
if (result.peer) {
  console.log(`  PyTorch DataLoader + PIL   ${fmt(result.peer.imagesPerSecond)} img/s`);
  console.log(
    `  ratio facekd / PyTorch     ${(result.loader.imagesPerSecond / result.peer.imagesPerSecond).toFixed(2).padStart(8)}`,
  );
}
if (mbf) {
  console.log(`\nmbf training (batch 64, ArcFace, SGD, channels_last) fed by the loader, ${mbf.steps} steps`);
  console.log(
    `  step ${mbf.stepSeconds.toFixed(2)} s, waiting for data ${(100 * mbf.waitShare).toFixed(1)}% (floor: under 5%)`,
  );
}
console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
