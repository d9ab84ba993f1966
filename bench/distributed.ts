// The data-parallel benchmark: training img/s of a backbone with an ArcFace head through the trainer's own step
// (src/train/step.ts) on one process of T threads against T processes of one thread each (the same global batch,
// gradients averaged by GradientSync over Gloo on 127.0.0.1, after the backward pass or overlapped with it), with
// the time per step spent waiting for the gradient allReduce. Each case runs in fresh processes that this script
// spawns (itself, with torchrun's environment).
// Run: `npx tsc -p tsconfig.json && node dist/bench/distributed.js [--quick]`; see bench/README.md.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { initProcessGroup } from "../src/torch/distributed.js";
import { combineLosses } from "../src/distill/index.js";
import { createModel } from "../src/models/index.js";
import { buildOptimizer } from "../src/train/optimizer.js";
import { BUCKET_BYTES, GradientSync } from "../src/train/data-parallel.js";
import { trainStep } from "../src/train/step.js";
import { benchArgs, numberArg, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/distributed.js [options]
  --models LIST   backbones (default mbf,iresnet18; a name's @ part sets the input size, 112 by default)
  --batch B       global batch (default 64): B on one process, B / ranks on each rank
  --ranks R       processes of one thread each, against one process of R threads (default 2)
  --classes C     identities of the ArcFace head (default 1000)
  --steps S       timed steps (default 4), after --warmup W untimed ones (default 1)
  --quick         --models mbf --steps 2
  --out FILE      JSON output (default bench/out/distributed.json)`;

const opts = benchArgs(USAGE, {
  models: { type: "string" },
  batch: { type: "string" },
  ranks: { type: "string" },
  classes: { type: "string" },
  steps: { type: "string" },
  warmup: { type: "string" },
  quick: { type: "boolean", default: false },
  out: { type: "string" },
});
const MODELS = (opts.models ?? (opts.quick ? "mbf" : "mbf,iresnet18")).split(",");
const BATCH = numberArg(USAGE, "batch", opts.batch, 64);
const RANKS = numberArg(USAGE, "ranks", opts.ranks, 2);
const CLASSES = numberArg(USAGE, "classes", opts.classes, 1000);
const STEPS = numberArg(USAGE, "steps", opts.steps, opts.quick ? 2 : 4);
const WARMUP = numberArg(USAGE, "warmup", opts.warmup, 1, { min: 0 });
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "distributed.json");
if (BATCH % RANKS !== 0) throw new Error(`--batch ${BATCH} must be a multiple of --ranks ${RANKS}`);

interface CaseResult {
  imagesPerSecond: number;
  /** Seconds per step in GradientSync.sync (0 on one process): the gradient allReduce, less what backward hid. */
  communication: number;
  gradientMiB: number;
}

/** One rank's (or the single process's) timed steps; rank 0 prints the result. */
function worker(model: string): void {
  const group = process.env.WORLD_SIZE === "1" ? null : initProcessGroup({ timeoutMs: 600_000 });
  const batch = BATCH / (group?.worldSize ?? 1);
  torch.manualSeed(group?.rank ?? 0);
  const backbone = createModel(model, { embeddingSize: 512 });
  const loss = combineLosses([{ name: "arcface", options: { numClasses: CLASSES, embeddingSize: 512 } }]);
  const params = [...backbone.parameters(), ...loss.module.parameters()];
  const optimizer = buildOptimizer(params, { type: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const sync = group && new GradientSync(group, BUCKET_BYTES, process.env.BENCH_OVERLAP === "1");
  const inputs = {
    model: backbone,
    role: "student" as const,
    loss,
    optimizer,
    params,
    clipGradNorm: undefined,
    ...(sync && { afterBackward: (p: readonly torch.nn.Parameter[], problem: string | null) => sync.sync(p, problem) }),
  };
  const size = backbone.spec.inputSize;
  const x = torch.randn([batch, 3, size, size]);
  const labels = torch.randint(0, CLASSES, [batch], { dtype: "int64" });
  const step = (): void => {
    const { problem } = trainStep(inputs, x, { labels });
    if (problem !== null) throw new Error(`bench: a step was skipped: ${problem}`);
  };
  for (let i = 0; i < WARMUP; i++) step();
  const [seconds0, t0] = [sync?.seconds ?? 0, performance.now()];
  for (let i = 0; i < STEPS; i++) step();
  const elapsed = (performance.now() - t0) / 1000;
  const result: CaseResult = {
    imagesPerSecond: (STEPS * BATCH) / elapsed,
    communication: ((sync?.seconds ?? 0) - seconds0) / STEPS,
    gradientMiB: (params.reduce((n, p) => n + p.numel(), 0) * 4) / 2 ** 20,
  };
  group?.barrier();
  if ((group?.rank ?? 0) === 0) process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  group?.close();
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Runs `model` on `ranks` fresh processes of `threads` threads each; rank 0's result. */
async function runCase(model: string, ranks: number, threads: number, overlap = false): Promise<CaseResult> {
  const port = await freePort();
  const script = fileURLToPath(import.meta.url);
  const outputs = await Promise.all(
    Array.from({ length: ranks }, (_, rank) => {
      const env = {
        ...process.env,
        ...{ FACEKD_THREADS: String(threads), BENCH_MODEL: model, RANK: String(rank), WORLD_SIZE: String(ranks) },
        BENCH_OVERLAP: overlap ? "1" : "0",
        ...{ MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) },
      };
      const child = spawn(process.execPath, [script, ...process.argv.slice(2)], {
        env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (t: string) => (out += t));
      return new Promise<string>((resolve, reject) =>
        child.on("exit", (code) =>
          code === 0 ? resolve(out) : reject(new Error(`bench: rank ${rank} exited ${code}`)),
        ),
      );
    }),
  );
  return JSON.parse(/^RESULT (.*)$/m.exec(outputs[0]!)![1]!) as CaseResult;
}

async function main(): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  console.log(
    `facekd data-parallel benchmark: ${machine}, load ${os.loadavg()[0]!.toFixed(1)}; global batch ${BATCH}, ` +
      `ArcFace ${CLASSES} classes, SGD; ${WARMUP} warm-up step(s), ${STEPS} timed; gradients averaged in ` +
      `${(BUCKET_BYTES / 2 ** 20).toFixed(0)} MiB buckets, after backward or overlapped with it\n`,
  );
  console.log(
    `model       1 x ${RANKS} threads    ${RANKS} x 1, after   ${RANKS} x 1, overlap   ratios        ` +
      "sync/step after, overlap  grads MiB",
  );
  const rows: Record<string, { single: CaseResult; parallel: CaseResult; overlapped: CaseResult }> = {};
  const rate = (r: CaseResult) => `${r.imagesPerSecond.toFixed(1).padStart(7)} img/s`;
  for (const model of MODELS) {
    const single = await runCase(model, 1, RANKS);
    const parallel = await runCase(model, RANKS, 1);
    const overlapped = await runCase(model, RANKS, 1, true);
    rows[model] = { single, parallel, overlapped };
    const ratio = (r: CaseResult) => (r.imagesPerSecond / single.imagesPerSecond).toFixed(2);
    const ms = (r: CaseResult) => `${(r.communication * 1000).toFixed(0)} ms`;
    console.log(
      `${model.padEnd(10)}  ${rate(single)}  ${rate(parallel)}   ${rate(overlapped)}   ` +
        `${ratio(parallel)}, ${ratio(overlapped)}    ${ms(parallel).padStart(8)}, ${ms(overlapped).padStart(8)}` +
        `  ${parallel.gradientMiB.toFixed(1).padStart(9)}`,
    );
  }
  console.log(`\nload at the end: ${os.loadavg()[0]!.toFixed(1)}`);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify({ machine, load: os.loadavg(), batch: BATCH, ranks: RANKS, rows }, null, 2));
}

if (process.env.BENCH_MODEL !== undefined) worker(process.env.BENCH_MODEL);
else await main();
