// The evaluation benchmark: facekd's large-scale all-vs-all verification (src/eval/all-vs-all.ts) and the
// intrinsic-dimension protocol (src/analysis/intrinsic-dimension.ts) against a numpy implementation of the same
// computations (bench/peers/eval_numpy.py) on the same data, in the same run; both times and their ratio.
// Run: `npx tsc -p tsconfig.json --outDir dist-bench && node dist-bench/bench/eval.js [--quick]`; see bench/README.md.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import { rocFromHistogram, verifyAllVsAll } from "../src/eval/index.js";
import { intrinsicDimension, sampleIndices } from "../src/analysis/index.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";
import { Rng } from "../src/data/index.js";

const USAGE = `usage: node dist-bench/bench/eval.js [options]
  --quick         20,000 embeddings all-vs-all and 10,000 through the TwoNN protocol (default 100,000 and 58,000)
  --only TASK     all-vs-all or twonn
  --threads N     libtorch threads, and the peer's BLAS threads (default: facekd's default, all cores)
  --no-peer       skip the numpy peer
  --python PATH   the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE      JSON output (default bench/out/eval.json)`;

const opts = benchArgs(USAGE, {
  quick: { type: "boolean", default: false },
  only: { type: "string" },
  threads: { type: "string" },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});
if (opts.only !== undefined && opts.only !== "all-vs-all" && opts.only !== "twonn") {
  console.error(`--only: expected all-vs-all or twonn, got '${opts.only}'\n${USAGE}`);
  process.exit(2);
}

if (opts.threads !== undefined) torch.setNumThreads(numberArg(USAGE, "threads", opts.threads, 1));

const PEER = path.join(ROOT, "bench", "peers", "eval_numpy.py");
const PYTHON = peerPython(opts.python);
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "eval.json");
const THREADS = torch.getNumThreads();
const ALL_VS_ALL = { n: opts.quick ? 20000 : 100000, dim: 512, perIdentity: 10, bins: 65536, block: 2048 };
const TWONN = {
  n: opts.quick ? 10000 : 58000,
  dim: 512,
  latent: 24,
  seed: 0,
  repetitions: 20,
  k: 8,
  margin: 4,
  block: 4096,
};

// ---------------------------------------------------------------- data and files

/** Writes a C-order .npy file (format 1.0). */
function writeNpy(file: string, data: Float32Array | BigInt64Array | Int32Array, shape: number[]): void {
  const descr = data instanceof Float32Array ? "<f4" : data instanceof Int32Array ? "<i4" : "<i8";
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11) + "\n";
  const preamble = Buffer.alloc(10);
  preamble.write("\x93NUMPY", 0, "latin1");
  preamble.writeUInt8(1, 6);
  preamble.writeUInt16LE(header.length, 8);
  writeFileSync(
    file,
    Buffer.concat([
      preamble,
      Buffer.from(header, "latin1"),
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    ]),
  );
}

/** Identities of `perIdentity` images: a random centre plus twice as much noise (genuine cosine ~0.2). */
function identityEmbeddings(n: number, dim: number, perIdentity: number): { x: Tensor; labels: Tensor } {
  torch.manualSeed(1);
  const labels = torch.arange(n).div(perIdentity, "floor");
  const centres = torch.randn([Math.ceil(n / perIdentity), dim]);
  return { x: torch.keep(centres.index([labels]).add(torch.randn([n, dim]).mul(2))), labels: torch.keep(labels) };
}

/** A curved low-dimensional manifold in `dim` dimensions, plus a little noise. */
function manifoldEmbeddings(n: number, dim: number, latent: number): Tensor {
  torch.manualSeed(2);
  return torch.keep(
    torch.tidy(() => {
      const z = torch
        .randn([n, latent])
        .mm(torch.randn([latent, dim]))
        .tanh();
      return z.mm(torch.randn([dim, dim]).div(Math.sqrt(dim))).add(torch.randn([n, dim]).mul(0.01));
    }),
  );
}

// ---------------------------------------------------------------- the peer

interface PeerAnswer {
  seconds: number;
  cpuSeconds: number;
  numpy: string;
  blas: { core?: string; config?: string; threads?: number };
  [key: string]: unknown;
}

// The peer's BLAS uses as many threads as libtorch, with the machine's OpenBLAS core-type overrides removed so
// that it picks its kernel itself (the core it ran is reported).
function runPeer(args: string[]): PeerAnswer | null {
  if (opts["no-peer"]) return null;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OPENBLAS_NUM_THREADS: String(THREADS),
    OMP_NUM_THREADS: String(THREADS),
  };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const out = execFileSync(PYTHON, [PEER, ...args], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as PeerAnswer;
}

/** Runs fn and measures its wall and CPU seconds (all threads of this process). */
function timed<T>(fn: () => T): { value: T; seconds: number; cpuSeconds: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const cpu = process.cpuUsage(c0);
  return { value, seconds: (performance.now() - t0) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// "facekd W s (C cpu-s), numpy W s (C cpu-s), numpy/facekd R" with the ratio of wall times.
function timesLine(ours: { seconds: number; cpuSeconds: number }, peer: PeerAnswer | null): string {
  const side = (t: { seconds: number; cpuSeconds: number }) =>
    `${t.seconds.toFixed(1)} s (${t.cpuSeconds.toFixed(1)} cpu-s)`;
  if (!peer) return `facekd ${side(ours)}`;
  return `facekd ${side(ours)}, numpy ${side(peer)}, numpy/facekd ${(peer.seconds / ours.seconds).toFixed(2)}x`;
}

// ---------------------------------------------------------------- cases

function benchAllVsAll(dir: string) {
  const { n, dim, perIdentity, bins, block } = ALL_VS_ALL;
  const { x, labels } = identityEmbeddings(n, dim, perIdentity);
  writeNpy(path.join(dir, "embeddings.npy"), x.data() as Float32Array, [n, dim]);
  writeNpy(path.join(dir, "labels.npy"), labels.data() as BigInt64Array, [n]);
  const run = timed(() => verifyAllVsAll(x, labels, { bins, blockSize: block }));
  const ours = run.value;
  x.dispose();
  labels.dispose();
  const peer = runPeer(["all-vs-all", dir, String(bins), String(block)]);
  let agreement: Record<string, unknown> = {};
  if (peer) {
    const g = Float64Array.from(peer.genuine as number[]);
    const i = Float64Array.from(peer.impostor as number[]);
    const moved =
      ours.histogram.genuine.reduce((s, v, b) => s + Math.abs(v - g[b]!), 0) +
      ours.histogram.impostor.reduce((s, v, b) => s + Math.abs(v - i[b]!), 0);
    const peerRoc = rocFromHistogram({ min: -1, max: 1, genuine: g, impostor: i });
    agreement = {
      pairsInAnotherBin: moved / 2,
      tarAtFar: ours.roc.tarAtFar.map((t, j) => ({ far: t.far, ours: t.tar, numpy: peerRoc.tarAtFar[j]!.tar })),
    };
  }
  const pairs = (n * (n - 1)) / 2;
  console.log(`all-vs-all ${n} x ${dim} (${pairs.toExponential(3)} pairs, ${bins} bins): ${timesLine(run, peer)}`);
  console.log(
    `  TAR@FAR: ${ours.roc.tarAtFar.map((t) => `${t.far.toExponential(0)} ${t.tar === null ? "n/a" : (100 * t.tar).toFixed(2) + "%"}`).join(", ")}`,
  );
  if (peer) console.log(`  pairs binned differently by numpy: ${agreement.pairsInAnotherBin} of ${pairs}`);
  return {
    n,
    dim,
    bins,
    block,
    pairs,
    facekd: { seconds: run.seconds, cpuSeconds: run.cpuSeconds },
    numpy: peer ? { seconds: peer.seconds, cpuSeconds: peer.cpuSeconds } : null,
    roc: ours.roc,
    agreement,
    blas: peer?.blas,
  };
}

function benchTwoNN(dir: string) {
  const { n, dim, latent, seed, repetitions, k, margin, block } = TWONN;
  const x = manifoldEmbeddings(n, dim, latent);
  writeNpy(path.join(dir, "embeddings.npy"), x.data() as Float32Array, [n, dim]);
  // The protocol's draws, replayed: the sample (all n rows here), then each 90% subset.
  const random = new Rng(seed);
  sampleIndices(n, n, random);
  const subsetSize = Math.floor(n * 0.9);
  const subsets = new Int32Array(repetitions * subsetSize);
  for (let r = 0; r < repetitions; r++) subsets.set(sampleIndices(n, subsetSize, random), r * subsetSize);
  writeNpy(path.join(dir, "subsets.npy"), subsets, [repetitions, subsetSize]);
  const run = timed(() => intrinsicDimension(x, { sampleSize: n, seed, repetitions, neighbours: k, blockSize: block }));
  const ours = run.value;
  x.dispose();
  const peer = runPeer(["twonn", dir, String(k), String(margin), String(block)]);
  const peerEstimates = (peer?.estimates as number[] | undefined) ?? [];
  const largestDifference = peerEstimates.reduce((m, v, r) => Math.max(m, Math.abs(v - ours.estimates[r]!)), 0);
  console.log(`TwoNN protocol ${n} x ${dim} (${repetitions} subsets of ${subsetSize}): ${timesLine(run, peer)}`);
  console.log(
    `  ID ${ours.mean.toFixed(3)} ± ${ours.std.toFixed(3)}, researched ${ours.researched} points${peer ? `, largest |facekd - numpy| per subset ${largestDifference.toExponential(2)}` : ""}`,
  );
  return {
    n,
    dim,
    repetitions,
    subsetSize,
    facekd: { seconds: run.seconds, cpuSeconds: run.cpuSeconds },
    numpy: peer ? { seconds: peer.seconds, cpuSeconds: peer.cpuSeconds } : null,
    result: ours,
    largestDifference,
    blas: peer?.blas,
  };
}

// ---------------------------------------------------------------- main

console.log(
  `facekd eval benchmark: libtorch ${torch.buildInfo().torchVersion}, ${THREADS} threads; timings on a shared machine are noisy`,
);
const dir = mkdtempSync(path.join(os.tmpdir(), "facekd-bench-eval-"));
try {
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model} x ${os.cpus().length}`,
    threads: THREADS,
  };
  if (opts.only !== "twonn") results.allVsAll = torch.noGrad(() => benchAllVsAll(dir));
  if (opts.only !== "all-vs-all") results.twoNN = torch.noGrad(() => benchTwoNN(dir));
  const blas =
    (results.allVsAll as { blas?: unknown } | undefined)?.blas ??
    (results.twoNN as { blas?: unknown } | undefined)?.blas;
  if (blas) console.log(`numpy's BLAS: ${JSON.stringify(blas)}`);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    JSON.stringify(results, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v), 2) +
      "\n",
  );
  console.log(`written ${path.relative(process.cwd(), OUT)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
