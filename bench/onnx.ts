// The inference benchmark of issue 15: img/s of mbf, iresnet18 and iresnet50 (112x112) at batch 32 and 1 by
// (a) facekd's libtorch eval path, (b) facekd's inference as it runs (the `auto` backend: onnxruntime on the
// in-memory export), (c) onnxruntime-node on facekd's exported file, (d) onnxruntime-node on PyTorch's
// torch.onnx.export of the same network, (e) PyTorch's eval mode (bench/peers/models_torch.py). Random weights:
// speed does not depend on them. Run: `npx tsc -p tsconfig.json && node dist/bench/onnx.js`; see bench/README.md.
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import * as torch from "../src/torch/index.js";
import { createModel, exportOnnx } from "../src/models/index.js";
import { inferenceSpeed, type InferenceBackend } from "../src/infer/index.js";
import { ModelsPeer } from "./models-peer.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/onnx.js [options]
  --threads N      intra-op threads on every side (default: facekd's default, all cores or FACEKD_THREADS)
  --seconds S      seconds per case and side, after one warm-up run (default 3)
  --models LIST    default mbf,iresnet18,iresnet50
  --batches LIST   default 32,1
  --no-peer        skip PyTorch and its export
  --python PATH    the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE       JSON output (default bench/out/onnx.json)`;

const opts = benchArgs(USAGE, {
  threads: { type: "string" },
  seconds: { type: "string" },
  models: { type: "string" },
  batches: { type: "string" },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});
if (opts.threads !== undefined) torch.setNumThreads(numberArg(USAGE, "threads", opts.threads, 1));
const THREADS = torch.getNumThreads();
const SECONDS = numberArg(USAGE, "seconds", opts.seconds, 3, { integer: false, min: 0.1 });
const MODELS = (opts.models ?? "mbf,iresnet18,iresnet50").split(",");
const BATCHES = (opts.batches ?? "32,1").split(",").map((b) => numberArg(USAGE, "batches", b, 1));
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "onnx.json");
const SIDES = ["libtorch", "facekd", "ortFacekd", "ortPytorch", "pytorch"] as const;
type Side = (typeof SIDES)[number];
type Result = { model: string; batch: number } & Partial<Record<Side, number>>;

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

async function main(): Promise<void> {
  const cpu = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  const uptime = execSync("uptime", { encoding: "utf8" }).trim();
  console.log(`facekd inference benchmark: ${THREADS} thread(s) per side, ${SECONDS} s per case; ${cpu}\n${uptime}`);
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
  try {
    for (const name of MODELS) {
      torch.manualSeed(0);
      const model = createModel(name).eval();
      const ours = path.join(dir, `${name}.facekd.onnx`);
      const theirs = path.join(dir, `${name}.pytorch.onnx`);
      exportOnnx(model, ours);
      if (note === "") await peer!.request({ op: "onnx", model: name, path: theirs });
      for (const batch of BATCHES) {
        const r: Result = { model: name, batch };
        const speed = (backend: InferenceBackend): Promise<number> =>
          inferenceSpeed(model, batch, { seconds: SECONDS, backend });
        for (const side of SIDES) {
          if (note !== "" && (side === "ortPytorch" || side === "pytorch")) continue;
          progress(`${side} ${name} batch ${batch}`);
          if (side === "libtorch") r.libtorch = await speed("libtorch");
          if (side === "facekd") r.facekd = await speed("auto");
          if (side === "ortFacekd") r.ortFacekd = await ortSpeed(ours, batch);
          if (side === "ortPytorch") r.ortPytorch = await ortSpeed(theirs, batch);
          if (side === "pytorch") {
            // about SECONDS of PyTorch's time, from libtorch's speed (the same kernels)
            const steps = Math.max(2, Math.round((SECONDS * r.libtorch!) / batch));
            const c = { op: "case", model: name, mode: "infer", batch, format: "channels_last", steps, warmup: 1 };
            r.pytorch = (await peer!.request(c)).value as number;
          }
        }
        results.push(r);
      }
      model.dispose();
    }
  } finally {
    peer?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (v: number | undefined): string => (v === undefined ? "-" : v.toFixed(1));
  const best = (r: Result): number => Math.max(r.ortFacekd ?? 0, r.ortPytorch ?? 0, r.pytorch ?? 0);
  const header = ["model", "batch", "libtorch", "facekd", "ORT(facekd)", "ORT(PyTorch)", "PyTorch", "facekd/best"];
  const rows = results.map((r) => [
    r.model,
    String(r.batch),
    ...SIDES.map((s) => fmt(r[s])),
    `${(r.facekd! / best(r)).toFixed(2)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\nimg/s; facekd = the auto backend; best = the best of ORT(facekd), ORT(PyTorch), PyTorch\n`);
  console.log([line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
  if (note) console.log(note);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify({ when: new Date().toISOString(), cpu, uptime, threads: THREADS, results }, null, 2),
  );
  console.log(`\nwritten to ${path.relative(process.cwd(), OUT)}`);
}

await main();
