// The classifier's memory per rank with the sharded Partial FC (src/models/heads/sharded-partial-fc.ts): each case
// runs 1 and 2 Gloo ranks on this machine, one process per rank, each doing two SGD steps (momentum 0.9, weight
// decay) on a batch of random embeddings, and reports how far its peak RSS rose above the RSS it had before building
// the head (after a warm-up step on a small head, so that BLAS and thread buffers are already counted). glibc's
// malloc is told to map every block of 1 MiB or more (MALLOC_MMAP_THRESHOLD_), so that freed tensors leave the RSS.
// The peaks fit peak = 4 * centres + k * logits (the centres, their gradient, their momentum and the update's
// temporary; k [N, columns] matrices alive at once), and the fitted k gives the figures for 4 to 64 ranks.
// Run: `npx tsc -p tsconfig.json && node dist/bench/partial-fc.js [--cases 20000@1]`; see bench/README.md.
import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import { fileURLToPath } from "node:url";
import * as torch from "../src/torch/index.js";
import { initProcessGroup } from "../src/torch/distributed.js";
import { ArcFace, ShardedPartialFC, classShard } from "../src/models/heads/index.js";
import { benchArgs, numberArg } from "./options.js";

const USAGE = `usage: node dist/bench/partial-fc.js [options]
  --cases LIST    measured classes@sampleRate, comma-separated (default 85742@1,85742@0.1: MS1MV2's classes)
  --project LIST  class counts computed from each case's fit, at its sample rate (default 1000000)
  --batch B       embeddings per rank (default 128, arcface_torch's)
  --dim D         embedding size (default 512)
  --ranks LIST    measured world sizes (default 1,2)
  --computed LIST world sizes computed from the fit (default 4,8,16,64)`;

const GiB = 2 ** 30;
const MiB = 2 ** 20;

interface Case {
  classes: number;
  rate: number;
}
interface Measured extends Case {
  ranks: number;
  /** Peak RSS above the pre-head RSS, the largest over the ranks. */
  peak: number;
  /** RSS above the pre-head RSS once the head is freed again: what the allocator kept. */
  steady: number;
  seconds: number;
}

// ---- one rank (a child process) ----

function rankMain(spec: string): void {
  const [classes, rate, batch, dim] = spec.split(",").map(Number) as [number, number, number, number];
  torch.setNumThreads(1);
  const worldSize = Number(process.env.WORLD_SIZE);
  const group = worldSize > 1 ? initProcessGroup({}) : null;
  torch.manualSeed(0);
  const embeddings = torch.randn([batch, dim]).requiresGrad_(true);
  const labels = torch.randint(0, classes, [batch]);
  const train = (numClasses: number, steps: number): void => {
    const margin = new ArcFace();
    const head = new ShardedPartialFC({ margin, embeddingSize: dim, numClasses, sampleRate: rate }, group);
    const opt = new torch.optim.SGD([head.weight], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    for (let step = 0; step < steps; step++) {
      torch.tidy(() => head.forward(embeddings, labels.remainder(numClasses)).backward());
      opt.step();
      opt.zeroGrad();
      embeddings.grad = null;
    }
    opt.dispose();
    head.weight.dispose();
  };
  train(worldSize * 64, 1); // warm-up: lazily allocated library buffers
  const before = process.memoryUsage().rss;
  const start = performance.now();
  train(classes, 2);
  const seconds = (performance.now() - start) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024 - before;
  const steady = process.memoryUsage().rss - before;
  group?.barrier();
  process.stdout.write(`RESULT ${JSON.stringify({ peak, steady, seconds })}\n`);
  group?.close();
}

// ---- the driver ----

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function measure(c: Case, ranks: number, batch: number, dim: number): Promise<Measured> {
  const port = String(await freePort());
  const script = fileURLToPath(import.meta.url);
  const runs = Array.from({ length: ranks }, (_, rank) => {
    const env = {
      ...process.env,
      RANK: String(rank),
      WORLD_SIZE: String(ranks),
      MASTER_ADDR: "127.0.0.1",
      MASTER_PORT: port,
    };
    const spec = `${c.classes},${c.rate},${batch},${dim}`;
    const child = spawn(process.execPath, [script], {
      env: { ...env, FACEKD_PFC_RANK: spec, MALLOC_MMAP_THRESHOLD_: String(MiB) },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    return new Promise<{ peak: number; steady: number; seconds: number }>((resolve, reject) =>
      child.once("close", (code) => {
        const line = out.split("\n").find((l) => l.startsWith("RESULT "));
        if (code !== 0 || !line) reject(new Error(`rank ${rank} of ${ranks} failed (${code}):\n${out}`));
        else resolve(JSON.parse(line.slice(7)));
      }),
    );
  });
  const results = await Promise.all(runs);
  return {
    ...c,
    ranks,
    peak: Math.max(...results.map((r) => r.peak)),
    steady: Math.max(...results.map((r) => r.steady)),
    seconds: Math.max(...results.map((r) => r.seconds)),
  };
}

/** Rank 0's (the largest) shard and one step's logits size: columns = sampleRate * numLocal (at least the positives). */
function sizes(c: Case, ranks: number, batch: number, dim: number) {
  const local = classShard(c.classes, ranks, 0).count;
  const columns = Math.max(1, Math.floor(c.rate * local));
  return { centres: local * dim * 4, logits: ranks * batch * columns * 4 };
}

const list = (name: string, text: string, integer = true): number[] =>
  text.split(",").map((v) => numberArg(USAGE, name, v, 0, { integer, min: integer ? 1 : Number.MIN_VALUE }));

async function main(): Promise<void> {
  const opts = benchArgs(USAGE, {
    cases: { type: "string" },
    batch: { type: "string" },
    dim: { type: "string" },
    ranks: { type: "string" },
    computed: { type: "string" },
    project: { type: "string" },
  });
  const projected = list("project", opts.project ?? "1000000");
  const cases = (opts.cases ?? "85742@1,85742@0.1").split(",").map((text) => {
    const [classes, rate] = text.split("@");
    return { classes: list("cases", classes!)[0]!, rate: list("cases", rate ?? "1", false)[0]! };
  });
  const batch = numberArg(USAGE, "batch", opts.batch, 128);
  const dim = numberArg(USAGE, "dim", opts.dim, 512);
  const measuredRanks = list("ranks", opts.ranks ?? "1,2");
  const computedRanks = list("computed", opts.computed ?? "4,8,16,64");
  console.log(`${os.cpus()[0]?.model ?? "unknown CPU"} x ${os.cpus().length}, load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(`batch ${batch} per rank, ${dim}-d embeddings, float32, SGD with momentum, 1 thread per rank\n`);

  const rows: string[][] = [];
  for (const c of cases) {
    const measured: Measured[] = [];
    for (const ranks of measuredRanks) measured.push(await measure(c, ranks, batch, dim));
    // peak = 4 centres + k logits: k from each measurement, then their mean
    const ks = measured.map((m) => {
      const s = sizes(c, m.ranks, batch, dim);
      return (m.peak - 4 * s.centres) / s.logits;
    });
    const k = ks.reduce((a, b) => a + b, 0) / ks.length;
    const row = (classes: number, ranks: number) => {
      const s = sizes({ classes, rate: c.rate }, ranks, batch, dim);
      const m = classes === c.classes ? measured.find((x) => x.ranks === ranks) : undefined;
      const predicted = 4 * s.centres + k * s.logits;
      rows.push([
        classes.toLocaleString("en-US"),
        String(c.rate),
        String(ranks),
        (s.centres / MiB).toFixed(0),
        (s.logits / MiB).toFixed(1),
        m ? `${(m.peak / GiB).toFixed(2)} (${m.seconds.toFixed(1)} s)` : "",
        m ? (m.steady / GiB).toFixed(2) : "",
        (predicted / GiB).toFixed(2),
      ]);
    };
    for (const ranks of [...measuredRanks, ...computedRanks]) row(c.classes, ranks);
    for (const classes of projected) for (const ranks of [...measuredRanks, ...computedRanks]) row(classes, ranks);
    console.log(
      `${c.classes} classes @ ${c.rate}: k = ${ks.map((x) => x.toFixed(2)).join(", ")} (mean ${k.toFixed(2)})`,
    );
  }
  const header = [
    "classes",
    "rate",
    "ranks",
    "centres MiB",
    "logits MiB",
    "measured peak GiB",
    "kept GiB",
    "peak GiB (fit)",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((x, i) => x.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(`\n${line(header)}\n| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`);
  for (const r of rows) console.log(line(r));
}

const rankSpec = process.env.FACEKD_PFC_RANK;
if (rankSpec !== undefined) rankMain(rankSpec);
else await main();
