// The inference benchmark of issue 15: img/s of mbf, iresnet18 and iresnet50 (112x112) at batch 32 and 1 by
// (a) facekd's libtorch eval path, (b) facekd's inference as it runs (the `auto` backend: libtorch from batch 32
// on, below it onnxruntime on the in-memory export with PReLUs as depthwise convolutions), (c) onnxruntime-node on
// facekd's standard exported file, (d) onnxruntime-node on PyTorch's torch.onnx.export of the same network,
// (e) PyTorch's eval mode (bench/peers/models_torch.py). Random weights: speed does not depend on them. Every side
// is measured once per round, the rounds interleaved (each in an order rotated by one, so that no side always
// follows the same one), and each ratio is taken within a round: a shared machine's load moves every side of a
// round alike. Run: `npx tsc -p tsconfig.json && node dist/bench/onnx.js`; see bench/README.md.
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import * as torch from "../src/torch/index.js";
import { createModel, exportOnnx, type Backbone } from "../src/models/index.js";
import { inferenceSpeed, type InferenceBackend } from "../src/infer/index.js";
import { ModelsPeer } from "./models-peer.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/onnx.js [options]
  --threads N      intra-op threads on every side (default: facekd's default, all cores or FACEKD_THREADS)
  --seconds S      seconds per side, case and round, after one warm-up run (default 1)
  --rounds R       rounds per case, every side once a round; medians and ranges over rounds (default 5)
  --models LIST    default mbf,iresnet18,iresnet50
  --batches LIST   default 32,1
  --no-peer        skip PyTorch and its export
  --python PATH    the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE       JSON output (default bench/out/onnx.json)`;

const opts = benchArgs(USAGE, {
  threads: { type: "string" },
  seconds: { type: "string" },
  rounds: { type: "string" },
  models: { type: "string" },
  batches: { type: "string" },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});
if (opts.threads !== undefined) torch.setNumThreads(numberArg(USAGE, "threads", opts.threads, 1));
const THREADS = torch.getNumThreads();
const SECONDS = numberArg(USAGE, "seconds", opts.seconds, 1, { integer: false, min: 0.1 });
const ROUNDS = numberArg(USAGE, "rounds", opts.rounds, 5);
const MODELS = (opts.models ?? "mbf,iresnet18,iresnet50").split(",");
const BATCHES = (opts.batches ?? "32,1").split(",").map((b) => numberArg(USAGE, "batches", b, 1));
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "onnx.json");
const SIDES = ["libtorch", "facekd", "ortFacekd", "ortPytorch", "pytorch"] as const;
type Side = (typeof SIDES)[number];
/** img/s of each side, one value per round. */
type Result = { model: string; batch: number; rounds: Partial<Record<Side, number>>[] };

const progress = (what: string): void => void process.stderr.write(`  .. ${what}\n`);

/** onnxruntime-node on `file`, as bench/models.ts sets it up: `THREADS` intra-op threads, all optimizations. */
async function ortSpeed(file: string, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  try {
    const data = Float32Array.from({ length: batch * 3 * 112 * 112 }, () => Math.random() * 2 - 1);
    const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", data, [batch, 3, 112, 112]) };
    await session.run(feeds);
    let images = 0;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) {
      await session.run(feeds);
      images += batch;
    }
    return (images * 1000) / (performance.now() - start);
  } finally {
    await session.release();
  }
}

/** img/s of `side` on `model` at `batch`, over about SECONDS after a warm-up. */
async function measure(
  side: Side,
  name: string,
  model: Backbone,
  batch: number,
  files: { ours: string; theirs: string },
  peer: ModelsPeer | undefined,
): Promise<number> {
  if (side === "libtorch" || side === "facekd") {
    const backend: InferenceBackend = side === "libtorch" ? "libtorch" : "auto";
    return inferenceSpeed(model, batch, { seconds: SECONDS, backend });
  }
  if (side === "ortFacekd") return ortSpeed(files.ours, batch);
  if (side === "ortPytorch") return ortSpeed(files.theirs, batch);
  const c = { op: "case", model: name, mode: "infer", batch, format: "channels_last", steps: 2, warmup: 1 };
  return (await peer!.request({ ...c, seconds: SECONDS })).value as number;
}

async function main(): Promise<void> {
  const cpu = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  const uptime = execSync("uptime", { encoding: "utf8" }).trim();
  console.log(
    `facekd inference benchmark: ${THREADS} thread(s) per side, ${ROUNDS} rounds of ${SECONDS} s per side; ${cpu}\n` +
      uptime,
  );
  const peer = opts["no-peer"] ? undefined : new ModelsPeer(peerPython(opts.python), THREADS, 1000);
  const ready = await peer?.next();
  const note = !peer
    ? "PyTorch: skipped (--no-peer)"
    : ready?.ready === true
      ? ""
      : `PyTorch: ${String(ready?.message)}`;
  if (ready?.ready === true) progress(`PyTorch ${String(ready.torch_version)}, ${String(ready.threads)} thread(s)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "facekd-bench-onnx-"));
  const results: Result[] = [];
  mkdirSync(path.dirname(OUT), { recursive: true });
  const save = (): void => {
    const end = execSync("uptime", { encoding: "utf8" }).trim();
    const run = { when: new Date().toISOString(), cpu, uptime, end, threads: THREADS, seconds: SECONDS, results };
    writeFileSync(OUT, JSON.stringify(run, null, 2));
  };
  try {
    for (const name of MODELS) {
      torch.manualSeed(0);
      const model = createModel(name).eval();
      const ours = path.join(dir, `${name}.facekd.onnx`);
      const theirs = path.join(dir, `${name}.pytorch.onnx`);
      exportOnnx(model, ours);
      if (note === "") await peer!.request({ op: "onnx", model: name, path: theirs });
      for (const batch of BATCHES) {
        const r: Result = { model: name, batch, rounds: [] };
        const sides = SIDES.filter((side) => note === "" || (side !== "ortPytorch" && side !== "pytorch"));
        for (let round = 0; round < ROUNDS; round++) {
          const values: Partial<Record<Side, number>> = {};
          for (const side of sides.map((_, i) => sides[(i + round) % sides.length]!)) {
            progress(`${side} ${name} batch ${batch} round ${round + 1}/${ROUNDS}`);
            values[side] = await measure(side, name, model, batch, { ours, theirs }, peer);
          }
          r.rounds.push(values);
        }
        results.push(r);
        save(); // after every case, so that a stopped run keeps what it measured
      }
      model.dispose();
    }
  } finally {
    peer?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const median = (values: number[]): number => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const column = (r: Result, side: Side): number[] => r.rounds.flatMap((v) => (v[side] === undefined ? [] : [v[side]]));
  // facekd against the best other side of the same round
  const ratios = (r: Result): number[] =>
    r.rounds.map((v) => v.facekd! / Math.max(v.ortFacekd ?? 0, v.ortPytorch ?? 0, v.pytorch ?? 0));
  const fmt = (values: number[]): string => (values.length === 0 ? "-" : median(values).toFixed(1));
  const range = (values: number[]): string =>
    `${median(values).toFixed(2)}x (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})`;
  const header = ["model", "batch", "libtorch", "facekd", "ORT(facekd)", "ORT(PyTorch)", "PyTorch", "facekd/best"];
  const rows = results.map((r) => [r.model, String(r.batch), ...SIDES.map((s) => fmt(column(r, s))), range(ratios(r))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(
    `\nimg/s, median of ${ROUNDS} rounds; facekd = the auto backend; facekd/best = facekd over the best of ` +
      "ORT(facekd), ORT(PyTorch) and PyTorch in the same round: median (range) over rounds\n",
  );
  console.log([line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  if (note) console.log(note);
  console.log(`\nwritten to ${path.relative(process.cwd(), OUT)}`);
}

await main();
