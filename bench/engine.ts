// The engine benchmark: facekd's libtorch addon against PyTorch (the same libtorch 1.13) on a small face-style
// CNN, in training and inference, NCHW and channels_last, plus a 1024^3 matmul and the per-op overhead.
// Run: `npm run build && node dist/bench/engine.js [--quick] [--threads N] [--no-peer]`; see bench/README.md.
//
// The PyTorch peer (bench/peers/engine_torch.py) runs as a child process that answers one request at a time;
// each repeat measures every case on both sides back to back (alternating which side goes first), so that
// background load on a shared machine hits both sides alike and the ratios stay meaningful.
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import * as torch from "../src/torch/index.js";
import { native } from "../src/torch/native.js";
import { SGD } from "../src/torch/optim/index.js";
import type { Tensor } from "../src/torch/index.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const { nn } = torch;
const F = nn.functional;

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
const BATCH = 32;
const SIZE = 112;
const MATMUL_N = 1024;
const FORMATS = ["nchw", "channels_last"] as const;
type Format = (typeof FORMATS)[number];
const CASES = ["train_nchw", "train_channels_last", "infer_nchw", "infer_channels_last"] as const;
type CaseName = (typeof CASES)[number];
const PYTHON = peerPython(opts.python);

const OUT = opts.out ?? path.join(ROOT, "bench", "out", "engine.json");

// ---------------------------------------------------------------- the model

/** The benchmark net; bench/peers/engine_torch.py builds the same one with torch.nn. */
class MicroCNN extends nn.Module {
  readonly conv1 = this.registerModule("conv1", new nn.Conv2d(3, 64, 3, { stride: 2, padding: 1, bias: false }));
  readonly bn1 = this.registerModule("bn1", new nn.BatchNorm2d(64));
  readonly prelu1 = this.registerModule("prelu1", new nn.PReLU(64));
  readonly conv2 = this.registerModule("conv2", new nn.Conv2d(64, 64, 3, { padding: 1 }));
  readonly dw = this.registerModule("dw", new nn.Conv2d(64, 64, 3, { stride: 2, padding: 1, groups: 64 }));
  readonly pw = this.registerModule("pw", new nn.Conv2d(64, 128, 1));
  readonly fc = this.registerModule("fc", new nn.Linear(128, 512));

  forward(x: Tensor): Tensor {
    let y = this.prelu1.forward(this.bn1.forward(this.conv1.forward(x)));
    y = this.pw.forward(this.dw.forward(this.conv2.forward(y)));
    return this.fc.forward(F.adaptiveAvgPool2d(y, 1).flatten(1));
  }
}

// ---------------------------------------------------------------- measuring

const now = (): number => performance.now();
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs `step` until at least `seconds` have passed; returns the step count and the elapsed seconds. */
function timeLoop(step: () => void, seconds: number): { n: number; elapsed: number } {
  let n = 0;
  const t0 = now();
  let elapsed: number;
  do {
    step();
    n++;
    elapsed = (now() - t0) / 1000;
  } while (elapsed < seconds);
  return { n, elapsed };
}

type Phases = { forward: number; backward: number; optimizer: number; zero_grad: number };
const PHASES = ["forward", "backward", "optimizer", "zero_grad"] as const;
const zeroPhases = (): Phases => ({ forward: 0, backward: 0, optimizer: 0, zero_grad: 0 });

type Usage = { cpu_user_ms: number; cpu_sys_ms: number; minor_faults: number };

interface Sample {
  value: number;
  steps: number;
}

/** One side of the benchmark: facekd here, the same requests answered by the peer in Python. */
interface Side {
  caseRun(name: CaseName, seconds: number, warmup: number): Promise<Sample>;
  matmul(seconds: number, n: number): Promise<Sample>;
  micro(seconds: number): Promise<Sample>;
  phases(): Promise<Record<string, Phases>>;
  /** Process CPU time and minor page faults per step of each model case (timed loops only). */
  usage(): Promise<Record<string, Usage>>;
}

class Ours implements Side {
  readonly #setups = new Map<Format, { model: MicroCNN; x: Tensor; target: Tensor; opt: SGD }>();
  readonly #steps = new Map<CaseName, () => void>();
  readonly #warmed = new Set<CaseName>();
  readonly #phaseTotals = new Map<CaseName, { sums: Phases; steps: number }>();
  readonly #usage = new Map<CaseName, { user: number; sys: number; faults: number; steps: number }>();
  #current = zeroPhases();

  setup(format: Format): { model: MicroCNN; x: Tensor; target: Tensor; opt: SGD } {
    let s = this.#setups.get(format);
    if (!s) {
      torch.manualSeed(0);
      const model = new MicroCNN();
      let x = torch.keep(torch.randn([BATCH, 3, SIZE, SIZE]));
      const target = torch.keep(torch.randn([BATCH, 512]));
      if (format === "channels_last") {
        model.to({ memoryFormat: "channels_last" });
        const cl = torch.keep(x.contiguous("channels_last"));
        x.dispose();
        x = cl;
      }
      const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
      s = { model, x, target, opt };
      this.#setups.set(format, s);
    }
    return s;
  }

  stepOf(name: CaseName): () => void {
    let step = this.#steps.get(name);
    if (step) return step;
    const [mode, format] = name.split(/_(.*)/) as ["train" | "infer", Format];
    const { model, x, target, opt } = this.setup(format);
    if (mode === "train") {
      step = () => {
        model.train();
        const t0 = now();
        let t1 = 0;
        let t2 = 0;
        let t3 = 0;
        torch.tidy(() => {
          const loss = F.mseLoss(model.forward(x), target);
          t1 = now();
          loss.backward();
          t2 = now();
          opt.step();
          t3 = now();
          opt.zeroGrad();
        }); // the end of the scope frees the step's tensors: counted with zero_grad
        const t4 = now();
        const c = this.#current;
        c.forward += t1 - t0;
        c.backward += t2 - t1;
        c.optimizer += t3 - t2;
        c.zero_grad += t4 - t3;
      };
    } else {
      step = () => {
        model.eval();
        torch.noGrad(() => torch.tidy(() => void model.forward(x)));
      };
    }
    this.#steps.set(name, step);
    return step;
  }

  async caseRun(name: CaseName, seconds: number, warmup: number): Promise<Sample> {
    const step = this.stepOf(name);
    for (let i = 0; i < (this.#warmed.has(name) ? 1 : warmup); i++) step();
    this.#warmed.add(name);
    this.#current = zeroPhases();
    const r0 = process.resourceUsage();
    const { n, elapsed } = timeLoop(step, seconds);
    const r1 = process.resourceUsage();
    const u = this.#usage.get(name) ?? { user: 0, sys: 0, faults: 0, steps: 0 };
    u.user += r1.userCPUTime - r0.userCPUTime;
    u.sys += r1.systemCPUTime - r0.systemCPUTime;
    u.faults += r1.minorPageFault - r0.minorPageFault;
    u.steps += n;
    this.#usage.set(name, u);
    if (name.startsWith("train")) {
      const t = this.#phaseTotals.get(name) ?? { sums: zeroPhases(), steps: 0 };
      for (const p of PHASES) t.sums[p] += this.#current[p];
      t.steps += n;
      this.#phaseTotals.set(name, t);
    }
    return { value: (n * BATCH) / elapsed, steps: n };
  }

  async phases(): Promise<Record<string, Phases>> {
    const out: Record<string, Phases> = {};
    for (const [name, { sums, steps }] of this.#phaseTotals) {
      out[name] = zeroPhases();
      for (const p of PHASES) out[name][p] = sums[p] / steps;
    }
    return out;
  }

  async usage(): Promise<Record<string, Usage>> {
    const out: Record<string, Usage> = {};
    for (const [name, u] of this.#usage) {
      out[name] = {
        cpu_user_ms: u.user / 1000 / u.steps,
        cpu_sys_ms: u.sys / 1000 / u.steps,
        minor_faults: u.faults / u.steps,
      };
    }
    return out;
  }

  async matmul(seconds: number, n: number): Promise<Sample> {
    torch.manualSeed(0);
    const [a, b] = [torch.keep(torch.randn([n, n])), torch.keep(torch.randn([n, n]))];
    const mm = (): void => torch.tidy(() => void a.mm(b));
    mm();
    mm();
    const { n: k, elapsed } = timeLoop(mm, seconds);
    a.dispose();
    b.dispose();
    return { value: (2 * n ** 3 * k) / elapsed / 1e9, steps: k };
  }

  /** Per-op overhead: a loop of a.add(b) on 1-element tensors, each result freed by tidy (us per op). */
  async micro(seconds: number): Promise<Sample> {
    const [a, b] = [torch.keep(torch.ones([1])), torch.keep(torch.ones([1]))];
    const body = (): void =>
      torch.tidy(() => {
        for (let i = 0; i < 1000; i++) a.add(b);
      });
    body();
    const { n, elapsed } = timeLoop(body, seconds);
    a.dispose();
    b.dispose();
    return { value: (1e6 * elapsed) / (n * 1000), steps: n * 1000 };
  }

  /** The addon alone: one dispatcher call and one dispose per op, no Tensor objects or scopes (us per op). */
  microRaw(seconds: number): Sample {
    const [a, b] = [torch.keep(torch.ones([1])), torch.keep(torch.ones([1]))];
    const id = native.findOp("aten::add", "Tensor");
    const args = [a.handle, b.handle];
    const body = (): void => {
      for (let i = 0; i < 1000; i++) native.dispose(native.callOp(id, args, false) as never);
    };
    body();
    const { n, elapsed } = timeLoop(body, seconds);
    a.dispose();
    b.dispose();
    return { value: (1e6 * elapsed) / (n * 1000), steps: n * 1000 };
  }

  /** Counts the addon calls (and the ATen ops among them, by name) that one train step makes. */
  countNativeCalls(name: CaseName): { total: number; callOp: number; byFunction: Record<string, number> } {
    const step = this.stepOf(name);
    const addon = native as unknown as Record<string, unknown>;
    const originals = new Map<string, (...a: unknown[]) => unknown>();
    const counts: Record<string, number> = {};
    const opSchema = native.opSchema.bind(native); // unpatched: the names are not part of the count
    const opNames = new Map<number, string>();
    const opName = (id: number): string => {
      let s = opNames.get(id);
      if (s === undefined) opNames.set(id, (s = opSchema(id).split("(")[0]!));
      return s;
    };
    for (const [fname, fn] of Object.entries(addon)) {
      if (typeof fn !== "function") continue;
      const f = fn as (...a: unknown[]) => unknown;
      originals.set(fname, f);
      addon[fname] = (...args: unknown[]): unknown => {
        const key = fname === "callOp" ? `callOp ${opName(args[0] as number)}` : fname;
        counts[key] = (counts[key] ?? 0) + 1;
        return f.apply(native, args);
      };
    }
    try {
      step();
    } finally {
      for (const [fname, f] of originals) addon[fname] = f;
    }
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    const total = entries.reduce((n, [, c]) => n + c, 0);
    const callOp = entries.filter(([k]) => k.startsWith("callOp ")).reduce((n, [, c]) => n + c, 0);
    return { total, callOp, byFunction: Object.fromEntries(entries) };
  }
}

// ---------------------------------------------------------------- the PyTorch peer

interface PeerInfo {
  torch_version: string;
  python: string;
  threads: number;
  blas_loaded: string[];
}

class Peer implements Side {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiting: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  #stderr = "";
  #exited: Error | null = null;

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdin.on("error", () => {}); // a dead peer is reported by the exit handler
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (d: string) => {
      this.#stderr = (this.#stderr + d).slice(-4000);
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      const w = this.#waiting.shift();
      if (!w) return;
      try {
        w.resolve(JSON.parse(line));
      } catch {
        w.reject(new Error(`the peer printed something other than JSON: ${line.slice(0, 200)}`));
      }
    });
    const fail = (e: Error): void => {
      this.#exited = e;
      for (const w of this.#waiting.splice(0)) w.reject(e);
    };
    child.on("error", fail);
    child.on("exit", (code, signal) => {
      const tail = this.#stderr.trim().split("\n").slice(-8).join("\n");
      fail(new Error(`the peer exited (${signal ?? `status ${code}`})${tail ? ":\n" + tail : ""}`));
    });
  }

  /** Starts the peer; resolves to it and its info, or to a message saying why it cannot run. */
  static async start(): Promise<{ peer: Peer; info: PeerInfo } | { message: string }> {
    const script = path.join(ROOT, "bench", "peers", "engine_torch.py");
    const args = [script, "--serve", `--threads=${THREADS}`, `--batch=${BATCH}`, `--size=${SIZE}`];
    const peer = new Peer(spawn(PYTHON, args, { stdio: ["pipe", "pipe", "pipe"] }));
    try {
      const first = (await peer.#next()) as { ready?: boolean; error?: string; message?: string } & PeerInfo;
      if (first.ready) return { peer, info: first };
      peer.close();
      return { message: first.message ?? JSON.stringify(first) };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      peer.close();
      if (err.code === "ENOENT") {
        return { message: `${PYTHON} not found: install Python 3 and PyTorch (apt-get install python3-torch)` };
      }
      return { message: `cannot run the peer: ${err.message}` };
    }
  }

  #next(): Promise<unknown> {
    if (this.#exited) return Promise.reject(this.#exited);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  async request<T>(req: Record<string, unknown>): Promise<T> {
    const reply = this.#next();
    this.#child.stdin.write(JSON.stringify(req) + "\n");
    const r = (await reply) as T & { error?: string; message?: string };
    if (r.error !== undefined) throw new Error(`the peer failed on ${JSON.stringify(req)}: ${r.message}`);
    return r;
  }

  caseRun(name: CaseName, seconds: number, warmup: number): Promise<Sample> {
    return this.request({ op: "case", name, seconds, warmup });
  }
  matmul(seconds: number, n: number): Promise<Sample> {
    return this.request({ op: "matmul", seconds, n });
  }
  micro(seconds: number): Promise<Sample> {
    return this.request({ op: "micro", seconds });
  }
  phases(): Promise<Record<string, Phases>> {
    return this.request({ op: "phases" });
  }
  usage(): Promise<Record<string, Usage>> {
    return this.request({ op: "usage" });
  }

  close(): void {
    if (this.#exited === null && this.#child.stdin.writable)
      this.#child.stdin.end(JSON.stringify({ op: "quit" }) + "\n");
  }
}

// ---------------------------------------------------------------- report helpers

function progress(what: string): void {
  process.stderr.write(`  .. ${what}\n`);
}

function loadedBlas(): string[] {
  try {
    const libs = new Set<string>();
    for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
      const file = line.trim().split(/\s+/).at(-1) ?? "";
      if (file.startsWith("/") && /blas/i.test(file)) libs.add(file);
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}

function dpkgStatus(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status} ${Version}", pkg], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "not installed";
  }
}

function blasVerdict(libs: string[], gflops: number | undefined): string {
  const lib = libs.some((l) => /openblas/i.test(l))
    ? "OpenBLAS"
    : libs.length > 0
      ? "generic reference BLAS"
      : "unknown BLAS";
  if (gflops === undefined) return lib;
  return (
    lib + (gflops >= 15 ? " (matmul speed fits an optimized BLAS)" : " (matmul slow: generic-BLAS speed, ~5 GFLOP/s)")
  );
}

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
  const started = opts["no-peer"] ? { message: "skipped (--no-peer)" } : await Peer.start();
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
