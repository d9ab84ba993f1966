// The engine benchmark: facekd's libtorch addon against PyTorch (the same libtorch 1.13) on a small face-style
// CNN, in training and inference, NCHW and channels_last, plus a 1024^3 matmul and the per-op overhead.
// Run: `npm run build && node dist/bench/engine.js [--quick] [--threads N] [--no-peer]`; see bench/README.md.
//
// The PyTorch peer (bench/peers/engine_torch.py) runs as a child process that answers one request at a time;
// each repeat measures every case on both sides back to back (alternating which side goes first), so that
// background load on a shared machine hits both sides alike and the ratios stay meaningful.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as torch from "../src/torch/index.js";
import { blasVerdict, dpkgStatus, loadedBlas } from "./engine-blas.js";
import {
  BATCH,
  CASES,
  FORMATS,
  PHASES,
  SIZE,
  type Format,
  type Phases,
  type Sample,
  type Side,
  type Usage,
} from "./engine-cases.js";
import { Ours } from "./engine-facekd.js";
import { Peer } from "./engine-peer.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

// ---------------------------------------------------------------- options

const USAGE = `usage: node dist/bench/engine.js [options]
  --threads N     intra-op threads on both sides (default: facekd's default, all cores or FACEKD_THREADS)
  --seconds S     minimum timed seconds per repeat of each model case (default 5)
  --repeats R     repeats per case on each side; the median is reported (default 3)
  --warmup W      untimed steps before a case's first repeat (default 3; later repeats do 1)
  --quick         --seconds 1 --repeats 1 (a smoke run: the numbers are noisy)
  --no-peer       skip the PyTorch peer
  --python PATH   the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE      JSON output (default bench/out/engine.json)`;

const opts = benchArgs(USAGE, {
  threads: { type: "string" },
  seconds: { type: "string" },
  repeats: { type: "string" },
  warmup: { type: "string" },
  quick: { type: "boolean", default: false },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});

if (opts.threads !== undefined) torch.setNumThreads(numberArg(USAGE, "threads", opts.threads, 1));
const THREADS = torch.getNumThreads();
const SECONDS = numberArg(USAGE, "seconds", opts.seconds, opts.quick ? 1 : 5, { integer: false, min: 0.1 });
const REPEATS = numberArg(USAGE, "repeats", opts.repeats, opts.quick ? 1 : 3);
const WARMUP = numberArg(USAGE, "warmup", opts.warmup, 3);
const MATMUL_SECONDS = opts.quick ? 0.5 : 2;
const MICRO_SECONDS = opts.quick ? 0.3 : 1;
const MATMUL_N = 1024;
const PYTHON = peerPython(opts.python);

const OUT = opts.out ?? path.join(ROOT, "bench", "out", "engine.json");

// ---------------------------------------------------------------- report helpers

function progress(what: string): void {
  process.stderr.write(`  .. ${what}\n`);
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const fmt = (v: number | undefined, digits = 1): string =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || !(b > 0) ? undefined : a / b;

interface Summary {
  median: number;
  /** The best repeat (the largest throughput; the smallest time for per-op costs): the least disturbed one. */
  best: number;
  samples: number[];
  steps: number;
}
const summarize = (samples: Sample[], lowerIsBetter = false): Summary => ({
  median: median(samples.map((s) => s.value)),
  best: (lowerIsBetter ? Math.min : Math.max)(...samples.map((s) => s.value)),
  samples: samples.map((s) => s.value),
  steps: samples.reduce((n, s) => n + s.steps, 0),
});

function best(cases: Record<string, Summary>, mode: string): { format: Format; value: number } | undefined {
  let out: { format: Format; value: number } | undefined;
  for (const format of FORMATS) {
    const v = cases[`${mode}_${format}`]?.median;
    if (v !== undefined && Number.isFinite(v) && (out === undefined || v > out.value)) out = { format, value: v };
  }
  return out;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const loadStart = os.loadavg()[0]!;
  console.log(
    `facekd engine benchmark: micro-CNN ${SIZE}x${SIZE}, batch ${BATCH}, ${THREADS} intra-op thread(s) on both ` +
      `sides; ${cpu}, ${os.availableParallelism()} cores`,
  );
  console.log(
    `  ${REPEATS} repeat(s) of >= ${SECONDS} s per case and side, interleaved, median reported; ` +
      `${WARMUP} warm-up steps; SGD(lr 0.01, momentum 0.9), MSE to a fixed random target`,
  );

  if (loadStart > 0.5) {
    console.log(
      `  WARNING: load average ${loadStart.toFixed(2)} at start: other processes are using the CPU, so the ` +
        "numbers are noisy (the interleaving keeps the ratios fairer than the absolute values)",
    );
  }
  const ours = new Ours();
  const started = opts["no-peer"] ? { message: "skipped (--no-peer)" } : await Peer.start(PYTHON, THREADS);
  const peer = "peer" in started ? started.peer : undefined;
  const peerInfo = "peer" in started ? started.info : undefined;
  const peerMessage = "message" in started ? started.message : undefined;
  if (peerMessage) progress(`PyTorch peer unavailable: ${peerMessage}`);

  const samples = { ours: new Map<string, Sample[]>(), peer: new Map<string, Sample[]>() };
  const add = (side: "ours" | "peer", key: string, s: Sample): void => {
    const m = samples[side];
    m.set(key, [...(m.get(key) ?? []), s]);
  };
  let peerError: string | undefined;
  const both = async (key: string, round: number, run: (s: Side) => Promise<Sample>): Promise<void> => {
    const order: ("ours" | "peer")[] = round % 2 === 0 ? ["ours", "peer"] : ["peer", "ours"];
    for (const who of order) {
      if (who === "ours") add("ours", key, await run(ours));
      else if (peer && peerError === undefined) {
        try {
          add("peer", key, await run(peer));
        } catch (e) {
          peerError = (e as Error).message;
          progress(`PyTorch peer failed: ${peerError}`);
        }
      }
    }
    const o = samples.ours.get(key)?.at(-1)?.value;
    const p = samples.peer.get(key)?.at(-1)?.value;
    progress(`repeat ${round + 1}/${REPEATS} ${key}: facekd ${fmt(o)}  PyTorch ${fmt(p)}`);
  };

  for (let r = 0; r < REPEATS; r++) {
    for (const name of CASES) await both(name, r, (s) => s.caseRun(name, SECONDS, WARMUP));
    await both("matmul", r, (s) => s.matmul(MATMUL_SECONDS, MATMUL_N));
    await both("micro", r, (s) => s.micro(MICRO_SECONDS));
  }
  const rawSamples = Array.from({ length: REPEATS }, () => ours.microRaw(MICRO_SECONDS));
  const calls = ours.countNativeCalls("train_nchw");
  const ourPhases = await ours.phases();
  const ourUsage = await ours.usage();
  let peerPhases: Record<string, Phases> | undefined;
  let peerUsage: Record<string, Usage> | undefined;
  if (peer && peerError === undefined) {
    try {
      peerPhases = await peer.phases();
      peerUsage = await peer.usage();
    } catch (e) {
      peerError = (e as Error).message;
    }
  }
  peer?.close();

  const oursSummary = Object.fromEntries([...samples.ours].map(([k, v]) => [k, summarize(v, k === "micro")]));
  const peerSummary = Object.fromEntries([...samples.peer].map(([k, v]) => [k, summarize(v, k === "micro")]));
  const havePeer = peer !== undefined && samples.peer.size > 0;

  // ---- the table
  const W = [30, 10, 10, 16, 12];
  const row = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(W[0]!) : c.padStart(W[i]!))).join("");
  console.log("");
  console.log(row(["(medians)", "facekd", "PyTorch", "facekd/PyTorch", "best/best"]));
  const labels: [string, string][] = [
    ["train NCHW (img/s)", "train_nchw"],
    ["train channels_last (img/s)", "train_channels_last"],
    ["infer NCHW (img/s)", "infer_nchw"],
    ["infer channels_last (img/s)", "infer_channels_last"],
    [`matmul ${MATMUL_N}^3 (GFLOP/s)`, "matmul"],
  ];
  const ratios: Record<string, number | undefined> = {};
  for (const [label, key] of labels) {
    const a = oursSummary[key]?.median;
    const b = peerSummary[key]?.median;
    ratios[key === "matmul" ? "matmul" : `${key}_same_format`] = ratio(a, b);
    const bestRatio = ratio(oursSummary[key]?.best, peerSummary[key]?.best);
    console.log(row([label, fmt(a), fmt(b), fmt(ratio(a, b), 2), fmt(bestRatio, 2)]));
  }
  const microO = oursSummary.micro?.median;
  const microP = peerSummary.micro?.median;
  ratios.per_op_speed = ratio(microP, microO);
  const microBest = ratio(peerSummary.micro?.best, oursSummary.micro?.best);
  console.log(
    row([
      "a.add(b), 1 element (us/op)",
      fmt(microO, 2),
      fmt(microP, 2),
      fmt(ratio(microP, microO), 2),
      fmt(microBest, 2),
    ]),
  );
  console.log(
    "  (every ratio is facekd speed / PyTorch speed: > 1 means facekd is faster; best/best compares each side's " +
      "least disturbed repeat)",
  );

  console.log("");
  if (havePeer) {
    for (const mode of ["train", "infer"]) {
      const ob = best(oursSummary, mode);
      const pb = best(peerSummary, mode);
      const vsDefault = ratio(ob?.value, peerSummary[`${mode}_nchw`]?.median);
      const vsBest = ratio(ob?.value, pb?.value);
      ratios[`${mode}_best_vs_pytorch_default`] = vsDefault;
      ratios[`${mode}_best_vs_pytorch_best`] = vsBest;
      const floor = (r: number | undefined): string =>
        r === undefined ? "" : r >= 1 ? " (meets the 1.0 floor)" : " (BELOW the 1.0 floor)";
      console.log(
        `${mode}: facekd best (${ob?.format}) vs PyTorch default (nchw) ${fmt(vsDefault, 2)}${floor(vsDefault)}; ` +
          `vs PyTorch best (${pb?.format}) ${fmt(vsBest, 2)}${floor(vsBest)}`,
      );
    }
  }
  if (peerMessage || peerError) {
    console.log(`PyTorch peer: ${peerMessage ?? peerError}`);
    if (peerMessage && !opts["no-peer"]) {
      console.log(
        "  (the peer needs /usr/bin/python3 with torch: apt-get install python3-torch; facekd's numbers stand)",
      );
    }
  }

  console.log("");
  console.log("train step, ms per step: forward+loss  backward  optimizer  zero_grad+free  = total");
  for (const format of FORMATS) {
    for (const [who, ph] of [
      ["facekd", ourPhases],
      ["PyTorch", peerPhases],
    ] as const) {
      const p = ph?.[`train_${format}`];
      if (!p) continue;
      const total = PHASES.reduce((s, k) => s + p[k], 0);
      console.log(
        `  ${who.padEnd(8)}${format.padEnd(14)}${fmt(p.forward).padStart(9)}${fmt(p.backward).padStart(10)}` +
          `${fmt(p.optimizer, 2).padStart(11)}${fmt(p.zero_grad, 2).padStart(16)}  = ${fmt(total)}`,
      );
    }
  }
  console.log("");
  console.log(
    "process CPU time and minor page faults per step (sys time and faults: memory returned to the OS and refaulted)",
  );
  for (const name of CASES) {
    for (const [who, us] of [
      ["facekd", ourUsage],
      ["PyTorch", peerUsage],
    ] as const) {
      const u = us?.[name];
      if (!u) continue;
      const other = who === "facekd" ? peerUsage?.[name] : undefined;
      const cpuRatio = other
        ? `  PyTorch/facekd CPU ${fmt((other.cpu_user_ms + other.cpu_sys_ms) / (u.cpu_user_ms + u.cpu_sys_ms), 2)}`
        : "";
      console.log(
        `  ${who.padEnd(8)}${name.padEnd(22)} user ${fmt(u.cpu_user_ms).padStart(7)} ms  sys ${fmt(u.cpu_sys_ms).padStart(6)} ms` +
          `  faults ${fmt(u.minor_faults, 0).padStart(6)}${cpuRatio}`,
      );
    }
  }
  const rawUs = median(rawSamples.map((s) => s.value));
  console.log(
    `  facekd makes ${calls.total} addon calls per train step (${calls.callOp} ATen ops); ` +
      `at ${fmt(microO, 2)} us each that is ~${fmt((calls.total * (microO ?? 0)) / 1000, 2)} ms per step`,
  );
  console.log(`  addon alone (callOp + dispose, no Tensor objects or tidy): ${fmt(rawUs, 2)} us/op`);

  const ourBlasLibs = loadedBlas();
  const ourBlas = blasVerdict(ourBlasLibs, oursSummary.matmul?.median);
  const openblasPkg = dpkgStatus("libopenblas0-pthread");
  console.log("");
  console.log(`BLAS: ${ourBlas}; libopenblas0-pthread: ${openblasPkg}`);
  console.log(`  facekd maps ${ourBlasLibs.join(", ") || "no BLAS library"}`);
  if (peerInfo) console.log(`  PyTorch maps ${peerInfo.blas_loaded.join(", ") || "no BLAS library"}`);
  if (!ourBlasLibs.some((l) => /openblas/i.test(l))) {
    console.log("  (apt-get install libopenblas0-pthread: ~50x faster matmul and linear layers)");
  }

  const report = {
    meta: {
      date: new Date().toISOString(),
      cpu,
      cores: os.availableParallelism(),
      threads: THREADS,
      node: process.version,
      torch_version: torch.buildInfo().torchVersion,
      batch: BATCH,
      size: SIZE,
      seconds: SECONDS,
      repeats: REPEATS,
      warmup: WARMUP,
      load_average_start: loadStart,
      load_average_end: os.loadavg()[0],
      glibc_tunables: process.env.GLIBC_TUNABLES ?? null,
      blas: { verdict: ourBlas, facekd_loaded: ourBlasLibs, dpkg_libopenblas0_pthread: openblasPkg },
    },
    facekd: {
      cases: oursSummary,
      phases_ms: ourPhases,
      usage_per_step: ourUsage,
      micro_raw_callop_us: summarize(rawSamples),
      native_calls_per_train_step: calls,
    },
    pytorch: havePeer
      ? {
          ...peerInfo,
          ready: undefined,
          cases: peerSummary,
          phases_ms: peerPhases,
          usage_per_step: peerUsage,
          error: peerError,
        }
      : { error: peerMessage ?? peerError },
    ratios,
  };
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nwrote ${path.relative(process.cwd(), OUT) || OUT}`);
}

await main();
