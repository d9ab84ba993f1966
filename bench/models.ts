// The backbone benchmark: facekd's arcface_torch models (mbf, iresnet18 at 112x112) against the same networks in
// PyTorch (bench/peers/models_torch.py, the same libtorch 1.13) and, for inference, against onnxruntime-node
// running PyTorch's ONNX export of them. A train step is forward, an ArcFace head over 1,000 classes, backward
// and SGD (lr 0.1, momentum 0.9, weight decay 5e-4). With --variants it also times the CPU-sized variants (ours).
// Run: `npx tsc -p tsconfig.json && node dist/bench/models.js [--quick] [--variants]`; see bench/README.md.
//
// Each case runs `--warmup` untimed steps and `--steps` timed ones on each side, back to back, alternating which
// side goes first, so that background load on a shared machine hits both alike. Few steps: the numbers are noisy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as torch from "../src/torch/index.js";
import type { MemoryFormat, Tensor } from "../src/torch/index.js";
import { SGD } from "../src/torch/optim/index.js";
import { createModel, describeBuilt, listModels, heads, type Backbone } from "../src/models/index.js";
import { ModelsPeer } from "./models-peer.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/models.js [options]
  --threads N       intra-op threads on every side (default: facekd's default, all cores or FACEKD_THREADS)
  --steps S         timed steps per case and side (default 3)
  --warmup W        untimed steps before each case (default 1)
  --batches LIST    batch sizes (default 64,32)
  --models LIST     models compared with the peers (default mbf,iresnet18; '' for none, with --variants)
  --formats LIST    memory formats tried on both sides, the faster reported (default channels_last; add nchw to
                    check: NCHW depthwise convolutions are about 10x slower on this libtorch)
  --variants        also time the registered models under 1 GFLOP (ours only, batch 32)
  --quick           --steps 1 --batches 32
  --no-peer         skip PyTorch (and so onnxruntime, which runs PyTorch's export)
  --no-onnx         skip onnxruntime-node
  --python PATH     the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE        JSON output (default bench/out/models.json)`;

const opts = benchArgs(USAGE, {
  threads: { type: "string" },
  steps: { type: "string" },
  warmup: { type: "string" },
  batches: { type: "string" },
  models: { type: "string" },
  formats: { type: "string" },
  variants: { type: "boolean", default: false },
  quick: { type: "boolean", default: false },
  "no-peer": { type: "boolean", default: false },
  "no-onnx": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});

if (opts.threads !== undefined) torch.setNumThreads(numberArg(USAGE, "threads", opts.threads, 1));
const THREADS = torch.getNumThreads();
const STEPS = numberArg(USAGE, "steps", opts.steps, opts.quick ? 1 : 3);
const WARMUP = numberArg(USAGE, "warmup", opts.warmup, 1);
const BATCHES = (opts.batches ?? (opts.quick ? "32" : "64,32"))
  .split(",")
  .map((b) => numberArg(USAGE, "batches", b, 0));
const MODELS = (opts.models ?? "mbf,iresnet18").split(",").filter((m) => m !== "");
const FORMATS = (opts.formats ?? "channels_last").split(",").map((f) => (f === "nchw" ? "contiguous" : f));
for (const f of FORMATS) {
  if (f !== "contiguous" && f !== "channels_last") {
    console.error(`--formats: expected nchw and/or channels_last, got '${f}'`);
    process.exit(2);
  }
}
const MODES = ["train", "infer"] as const;
type Mode = (typeof MODES)[number];
const CLASSES = 1000;
const PYTHON = peerPython(opts.python);
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "models.json");

interface Case {
  model: string;
  mode: Mode;
  batch: number;
  format: string;
  steps: number;
  warmup: number;
}

const progress = (what: string): void => void process.stderr.write(`  .. ${what}\n`);

function timeSteps(step: () => void, steps: number, warmup: number, batch: number): number {
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (steps * batch) / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------- facekd

interface Setup {
  model: Backbone;
  head: heads.PartialFC;
  opt: SGD;
  x: Tensor;
  labels: Tensor;
}

/** The model, its ArcFace head, SGD and a fixed batch: built once per case key, the previous one freed. */
class Ours {
  #key = "";
  #setup: Setup | null = null;

  setup(name: string, batch: number, format: MemoryFormat): Setup {
    const key = `${name}/${batch}/${format}`;
    if (this.#setup && this.#key === key) return this.#setup;
    this.dispose();
    torch.manualSeed(0);
    const model = createModel(name).to({ memoryFormat: format });
    const size = model.spec.inputSize;
    const head = new heads.PartialFC({
      margin: new heads.ArcFace(),
      embeddingSize: model.embeddingSize,
      numClasses: CLASSES,
    });
    const opt = new SGD([...model.parameters(), ...head.parameters()], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    const x = torch.keep(torch.tidy(() => torch.randn([batch, 3, size, size]).contiguous(format)));
    const labels = torch.keep(torch.randint(0, CLASSES, [batch]));
    this.#key = key;
    return (this.#setup = { model, head, opt, x, labels });
  }

  run(c: Case): number {
    const { model, head, opt, x, labels } = this.setup(c.model, c.batch, c.format as MemoryFormat);
    const step =
      c.mode === "train"
        ? (): void =>
            torch.tidy(() => {
              const loss = head.forward(model.forward(x), labels);
              opt.zeroGrad();
              loss.backward();
              opt.step();
            })
        : (): void => torch.noGrad(() => torch.tidy(() => void model.forward(x)));
    model.train(c.mode === "train");
    return timeSteps(step, c.steps, c.warmup, c.batch);
  }

  dispose(): void {
    if (!this.#setup) return;
    const { model, head, opt, x, labels } = this.#setup;
    [model, head, opt, x, labels].forEach((t) => t.dispose());
    this.#setup = null;
  }
}

// ---------------------------------------------------------------- onnxruntime-node (optional, not a dependency)

interface OrtSession {
  run(feeds: Record<string, unknown>): Promise<unknown>;
  release(): Promise<void>;
}
interface Ort {
  InferenceSession: { create(file: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: Float32Array, dims: number[]) => unknown;
}

async function loadOrt(): Promise<Ort | string> {
  const name = "onnxruntime-node"; // a variable, so that the build does not need the package
  try {
    return (await import(name)) as Ort;
  } catch (e) {
    return (
      `onnxruntime-node is not installed (${(e as Error).message.split("\n")[0]}); ` +
      "npm install --no-save onnxruntime-node --onnxruntime-node-install-cuda=skip"
    );
  }
}

async function ortImagesPerSecond(ort: Ort, file: string, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
  });
  const input = new ort.Tensor("float32", Float32Array.from({ length: batch * 3 * 112 * 112 }, Math.random), [
    batch,
    3,
    112,
    112,
  ]);
  for (let i = 0; i < WARMUP; i++) await session.run({ input });
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await session.run({ input });
  const value = (STEPS * batch) / ((performance.now() - t0) / 1000);
  await session.release();
  return value;
}

// ---------------------------------------------------------------- main

const fmt = (v: number | undefined, digits = 1): string =>
  v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits);
const ratio = (a: number | undefined, b: number | undefined): string => (a && b ? `${(a / b).toFixed(2)}x` : "-");

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

type Result = { model: string; batch: number; mode: Mode; facekd?: number; pytorch?: number; onnxruntime?: number };

/** Every model, batch and mode on facekd and PyTorch (interleaved), then onnxruntime-node's inference. */
async function compare(ours: Ours): Promise<{ results: Result[]; notes: string[] }> {
  const peer = opts["no-peer"] ? undefined : new ModelsPeer(PYTHON, THREADS, CLASSES);
  let peerNote = peer ? "" : "skipped (--no-peer)";
  if (peer) {
    const ready = await peer.next();
    if (ready.ready !== true) peerNote = `unavailable: ${String(ready.message)}`;
    else progress(`PyTorch ${String(ready.torch_version)}, ${String(ready.threads)} thread(s)`);
  }
  const usePeer = peer !== undefined && peerNote === "";
  const results: Result[] = [];
  let round = 0;
  for (const model of MODELS) {
    for (const batch of BATCHES) {
      for (const mode of MODES) {
        const r: Result = { model, batch, mode };
        for (const format of FORMATS) {
          const c: Case = { model, mode, batch, format, steps: STEPS, warmup: WARMUP };
          const sides = round++ % 2 === 0 ? (["facekd", "pytorch"] as const) : (["pytorch", "facekd"] as const);
          for (const side of sides.filter((s) => s === "facekd" || usePeer)) {
            progress(`${side} ${model} ${mode} batch ${batch} ${format}`);
            const v = side === "facekd" ? ours.run(c) : ((await peer!.request({ op: "case", ...c })).value as number);
            r[side] = Math.max(r[side] ?? 0, v);
          }
        }
        results.push(r);
      }
    }
    ours.dispose();
  }

  let ortNote = opts["no-onnx"] ? "skipped (--no-onnx)" : usePeer ? "" : "needs the PyTorch peer for the export";
  const ort = ortNote === "" ? await loadOrt() : undefined;
  if (typeof ort === "string") ortNote = ort;
  else if (ort !== undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "facekd-bench-"));
    try {
      for (const model of MODELS) {
        const file = path.join(dir, `${model}.onnx`);
        await peer!.request({ op: "onnx", model, path: file });
        for (const batch of BATCHES) {
          progress(`onnxruntime ${model} infer batch ${batch}`);
          results.find((r) => r.model === model && r.batch === batch && r.mode === "infer")!.onnxruntime =
            await ortImagesPerSecond(ort, file, batch);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  peer?.close();
  const notes = [peerNote && `PyTorch peer: ${peerNote}`, ortNote && `onnxruntime-node: ${ortNote}`];
  return { results, notes: notes.filter((n) => n !== "") };
}

type VariantResult = { name: string; inputSize: number; parameters: number; gflops: number } & Record<Mode, number>;

/** facekd alone on every registered model under 1 GFLOP, batch 32. */
function timeVariants(ours: Ours): VariantResult[] {
  const out: VariantResult[] = [];
  for (const name of listModels()) {
    const model = createModel(name);
    const info = describeBuilt(model);
    model.dispose();
    if (info.flops > 1e9) continue;
    const timed = { train: 0, infer: 0 };
    for (const mode of MODES) {
      progress(`facekd ${name} ${mode} batch 32`);
      timed[mode] = ours.run({ model: name, mode, batch: 32, format: "channels_last", steps: STEPS, warmup: WARMUP });
    }
    ours.dispose();
    out.push({ name, inputSize: info.inputSize, parameters: info.parameters, gflops: info.flops / 1e9, ...timed });
  }
  return out;
}

async function main(): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  console.log(
    `facekd models benchmark: ${THREADS} thread(s) on every side; ${machine}, load ${os.loadavg()[0]!.toFixed(1)}; ` +
      `${WARMUP} warm-up + ${STEPS} timed step(s) per case and side; train = ArcFace over ${CLASSES} classes + SGD`,
  );
  const ours = new Ours();
  const { results, notes } = MODELS.length > 0 ? await compare(ours) : { results: [], notes: [] };
  if (results.length > 0) {
    console.log(`\nimg/s at 112x112, formats ${FORMATS.join(", ")} (the faster per side); ratio = facekd / peer\n`);
    console.log(
      table(
        ["model", "batch", "mode", "facekd", "PyTorch", "ratio", "onnxruntime", "ratio"],
        results.map((r) => [
          r.model,
          String(r.batch),
          r.mode,
          fmt(r.facekd),
          fmt(r.pytorch),
          ratio(r.facekd, r.pytorch),
          fmt(r.onnxruntime),
          ratio(r.facekd, r.onnxruntime),
        ]),
      ),
    );
    for (const note of notes) console.log(note);
  }

  const variants = opts.variants ? timeVariants(ours) : [];
  if (variants.length > 0) {
    console.log("\nCPU-sized models (facekd, batch 32, channels_last; train includes the 1,000-class ArcFace head)\n");
    console.log(
      table(
        ["model", "input", "parameters", "GFLOPs", "train img/s", "infer img/s"],
        variants.map((v) => [
          v.name,
          `${v.inputSize}x${v.inputSize}`,
          v.parameters.toLocaleString("en-US"),
          fmt(v.gflops, 3),
          fmt(v.train),
          fmt(v.infer),
        ]),
      ),
    );
  }

  mkdirSync(path.dirname(OUT), { recursive: true });
  const run = { when: new Date().toISOString(), machine, threads: THREADS, steps: STEPS, warmup: WARMUP };
  writeFileSync(OUT, JSON.stringify({ ...run, formats: FORMATS, results, notes, variants }, null, 2) + "\n");
  console.log(`\nwritten to ${path.relative(process.cwd(), OUT)}`);
}

await main();
