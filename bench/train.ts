// The trainer benchmark. (a) Feature-only distillation (ReFO's `fo` against precomputed teacher embeddings) against
// classification training (ArcFace through Partial FC) of the same student, both through the trainer's own step
// (src/train/step.ts), at several identity counts: img/s of each, their ratio, and the bytes of what classification
// needs and FO does not (class centres, their gradient and SGD momentum, the [batch, classes] logits), measured from
// the tensors. (b) Embedding extraction (`embedBatch` on in-memory batches) against PyTorch inference of the same
// network (bench/peers/embed_torch.py, arcface_torch's mbf from models_torch.py).
// Run: `npx tsc -p tsconfig.json && node dist/bench/train.js [--quick]`; see bench/README.md.
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import { DTYPE_BYTES } from "../src/torch/dtype.js";
import { combineLosses, EmbeddingStore, type LossContext, type LossSpec } from "../src/distill/index.js";
import { createModel, heads, type Backbone } from "../src/models/index.js";

import { buildOptimizer } from "../src/train/optimizer.js";
import { trainStep, type StepInputs } from "../src/train/step.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";
import { embedBatch } from "../src/infer/index.js";

const USAGE = `usage: node dist/bench/train.js [options]
  --model NAME      the student of (a) (default mbf@56: mbf's layers at 56x56 input)
  --classes LIST    identity counts of the classification side (default 1000,10000,85742)
  --embed-model M   the model of (b), mbf or iresnet18 at 112x112 (default mbf)
  --batch B         batch size of both parts (default 64)
  --threads N       intra-op threads on every side (default 2)
  --steps S         timed steps per case and repeat (default 1)
  --repeats R       rounds of every comparison, alternating which side goes first; the best is kept (default 2)
  --warmup W        untimed steps before a case's first round (default 1)
  --quick           --repeats 1 --classes 1000,85742
  --no-peer         skip PyTorch in (b)
  --python PATH     the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE        JSON output (default bench/out/train.json)`;

const opts = benchArgs(USAGE, {
  model: { type: "string" },
  classes: { type: "string" },
  "embed-model": { type: "string" },
  batch: { type: "string" },
  threads: { type: "string" },
  steps: { type: "string" },
  repeats: { type: "string" },
  warmup: { type: "string" },
  quick: { type: "boolean", default: false },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});

const THREADS = numberArg(USAGE, "threads", opts.threads, 2);
torch.setNumThreads(THREADS);
const STUDENT = opts.model ?? "mbf@56";
const EMBED_MODEL = opts["embed-model"] ?? "mbf";
const CLASSES = (opts.classes ?? (opts.quick ? "1000,85742" : "1000,10000,85742"))
  .split(",")
  .map((c) => numberArg(USAGE, "classes", c, 0));
const BATCH = numberArg(USAGE, "batch", opts.batch, 64);
const STEPS = numberArg(USAGE, "steps", opts.steps, 1);
const REPEATS = numberArg(USAGE, "repeats", opts.repeats, opts.quick ? 1 : 2);
const WARMUP = numberArg(USAGE, "warmup", opts.warmup, 1, { min: 0 });
const PYTHON = peerPython(opts.python);
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "train.json");
const OPTIMIZER = { type: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 } as const;

const progress = (what: string): void => void process.stderr.write(`  .. ${what}\n`);
const bytes = (t: Tensor): number => t.numel() * DTYPE_BYTES[t.dtype];
const mb = (n: number): string => (n / 2 ** 20).toFixed(1);

function imagesPerSecond(step: () => void, warmup = WARMUP): number {
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) step();
  return (STEPS * BATCH) / ((performance.now() - t0) / 1000);
}

// ---------------------------------------------------------------- (a) FO against classification

interface ClassifierBytes {
  centres: number;
  gradient: number;
  momentum: number;
  logits: number;
}

/** An objective stepped by the trainer's trainStep on a fixed batch, with its own SGD. */
class Objective {
  readonly inputs: StepInputs;
  #warm = false;

  constructor(
    model: Backbone,
    losses: LossSpec[],
    readonly context: LossContext,
    readonly x: Tensor,
  ) {
    const loss = combineLosses(losses);
    const params = [...model.parameters(), ...loss.module.parameters()];
    const optimizer = buildOptimizer(params, OPTIMIZER);
    this.inputs = { model, role: "student", loss, optimizer, params, clipGradNorm: undefined };
  }

  /** img/s over the timed steps (after the warm-up steps, the first time). */
  time(): number {
    const value = imagesPerSecond(
      () => {
        const { problem } = trainStep(this.inputs, this.x, this.context);
        if (problem !== null) throw new Error(`bench: a training step was skipped: ${problem}`);
      },
      this.#warm ? 0 : WARMUP,
    );
    this.#warm = true;
    return value;
  }

  /** The classification-only tensors of a step: class centres, their gradient and momentum, the logits. */
  classifierBytes(): ClassifierBytes {
    const { model, loss, optimizer, params } = this.inputs;
    const head = loss.module.namedChildren()[0]![1] as heads.PartialFC;
    return torch.tidy(() => {
      const embedding = torch.noGrad(() => model.forward(this.x));
      const { logits, targets } = head.logits(embedding, this.context.labels!);
      torch.nn.functional.crossEntropy(logits, targets).backward();
      const momentum = optimizer.stateDict().tensors.get(`state.${params.indexOf(head.weight)}.momentum_buffer`);
      if (momentum === undefined) throw new Error("bench: SGD holds no momentum for the class centres");
      const measured = {
        centres: bytes(head.weight),
        gradient: bytes(head.weight.grad!),
        momentum: bytes(momentum),
        logits: bytes(logits),
      };
      optimizer.zeroGrad();
      return measured;
    });
  }

  dispose(): void {
    this.inputs.loss.module.dispose();
    this.inputs.optimizer.dispose();
  }
}

interface Comparison extends ClassifierBytes {
  classes: number;
  fo: number;
  classification: number;
}

/** Per identity count, FO and classification timed back to back (alternating which goes first). */
function foAgainstClassification(): Comparison[] {
  torch.manualSeed(0);
  const model = createModel(STUDENT).to({ memoryFormat: "channels_last" });
  const size = model.spec.inputSize;
  const x = torch.keep(torch.tidy(() => torch.randn([BATCH, 3, size, size]).contiguous("channels_last")));
  const indices = torch.keep(torch.arange(BATCH));
  const teacher = new EmbeddingStore(torch.tidy(() => torch.randn([BATCH, model.embeddingSize])));
  const fo = new Objective(model, [{ name: "fo" }], { indices, precomputed: { teacher } }, x);
  model.train();
  try {
    return CLASSES.map((classes, k) => {
      const labels = torch.randint(0, classes, [BATCH]);
      const spec: LossSpec = { name: "arcface", options: { numClasses: classes, embeddingSize: model.embeddingSize } };
      const cls = new Objective(model, [spec], { labels }, x);
      try {
        const timed = { fo: 0, classification: 0 };
        for (let r = 0; r < REPEATS; r++) {
          const sides = (k + r) % 2 === 0 ? (["fo", "classification"] as const) : (["classification", "fo"] as const);
          for (const side of sides) {
            progress(`${side} (${classes.toLocaleString("en-US")} classes): ${STUDENT}, batch ${BATCH}`);
            timed[side] = Math.max(timed[side], (side === "fo" ? fo : cls).time());
          }
        }
        return { classes, ...timed, ...cls.classifierBytes() };
      } finally {
        cls.dispose();
        labels.dispose();
      }
    });
  } finally {
    fo.dispose();
    [model, x, indices, teacher.embeddings].forEach((t) => t.dispose());
  }
}

// ---------------------------------------------------------------- (b) embedding extraction

interface Extraction {
  facekd: number;
  pytorch: number | null;
  note: string | null;
}

/** `embedBatch` on a fixed batch against the PyTorch peer, in rounds alternating which goes first. */
async function extraction(): Promise<Extraction> {
  torch.manualSeed(0);
  const model = createModel(EMBED_MODEL).to({ memoryFormat: "channels_last" });
  const size = model.spec.inputSize;
  const x = torch.keep(torch.tidy(() => torch.randn([BATCH, 3, size, size]).contiguous("channels_last")));
  model.eval();
  const result: Extraction = { facekd: 0, pytorch: null, note: opts["no-peer"] ? "skipped (--no-peer)" : null };
  try {
    for (let r = 0; r < REPEATS; r++) {
      for (const side of r % 2 === 0 ? ["facekd", "pytorch"] : ["pytorch", "facekd"]) {
        if (side === "pytorch" && (opts["no-peer"] || result.note?.startsWith("unavailable"))) continue;
        progress(`extraction: ${side} ${EMBED_MODEL}, batch ${BATCH}`);
        if (side === "facekd") {
          const value = imagesPerSecond(() => embedBatch(model, x, false).dispose(), r === 0 ? WARMUP : 0);
          result.facekd = Math.max(result.facekd, value);
        } else {
          const peer = await peerImagesPerSecond();
          result.note = peer.note;
          if (peer.value !== undefined) result.pytorch = Math.max(result.pytorch ?? 0, peer.value);
        }
      }
    }
    return result;
  } finally {
    model.dispose();
    x.dispose();
  }
}

/** One run of the peer (a fresh process: its own warm-up). */
async function peerImagesPerSecond(): Promise<{ value?: number; note: string }> {
  const script = path.join(ROOT, "bench", "peers", "embed_torch.py");
  const args = [script, `--model=${EMBED_MODEL}`, `--threads=${THREADS}`, `--batch=${BATCH}`];
  args.push(`--steps=${STEPS}`, `--warmup=${WARMUP}`);
  try {
    const { stdout } = await promisify(execFile)(PYTHON, args);
    const reply = JSON.parse(stdout.trim().split("\n").at(-1)!) as { value: number; torch_version: string };
    return { value: reply.value, note: `PyTorch ${reply.torch_version}` };
  } catch (e) {
    const err = e as { stdout?: string; message: string };
    const line = err.stdout?.trim().split("\n").at(-1);
    return { note: `unavailable: ${line ? (JSON.parse(line) as { message: string }).message : err.message}` };
  }
}

// ---------------------------------------------------------------- main

const row = (cells: string[], widths: number[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");

async function main(): Promise<void> {
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  console.log(
    `facekd trainer benchmark: ${THREADS} thread(s); ${machine}, load ${os.loadavg()[0]!.toFixed(1)}; ` +
      `batch ${BATCH}; per case ${WARMUP} warm-up step(s), then the best of ${REPEATS} round(s) of ${STEPS} timed ` +
      "step(s); SGD momentum 0.9, weight decay 5e-4",
  );

  const a = foAgainstClassification();
  console.log(`\n(a) ${STUDENT} training img/s: FO (fo against precomputed teacher embeddings) and classification`);
  console.log("    (ArcFace through Partial FC, sample rate 1) timed back to back; MiB: what FO does not hold\n");
  const widths = [9, 8, 9, 7, 11, 9, 12, 10, 10];
  const header = [
    "classes",
    "FO img/s",
    "cls img/s",
    "FO/cls",
    "centres MiB",
    "grad MiB",
    "momentum MiB",
    "logits MiB",
  ];
  console.log(row([...header, "total MiB"], widths));
  for (const c of a) {
    const total = c.centres + c.gradient + c.momentum + c.logits;
    const speeds = [c.fo.toFixed(1), c.classification.toFixed(1), (c.fo / c.classification).toFixed(2)];
    const sizes = [c.centres, c.gradient, c.momentum, c.logits, total].map(mb);
    console.log(row([c.classes.toLocaleString("en-US"), ...speeds, ...sizes], widths));
  }

  const b = await extraction();
  const ratio = b.pytorch ? `${(b.facekd / b.pytorch).toFixed(2)}x` : "-";
  console.log(`\n(b) embedding extraction, ${EMBED_MODEL} at 112x112, eval mode, batch ${BATCH} (img/s)\n`);
  console.log(
    `    facekd embedBatch ${b.facekd.toFixed(1)}   PyTorch ${b.pytorch?.toFixed(1) ?? "-"}   facekd / PyTorch ${ratio}`,
  );
  if (b.note) console.log(`    peer: ${b.note}`);

  mkdirSync(path.dirname(OUT), { recursive: true });
  const run = { when: new Date().toISOString(), machine, threads: THREADS, batch: BATCH, steps: STEPS };
  const results = { ...run, repeats: REPEATS, warmup: WARMUP, student: STUDENT, distillation: a };
  writeFileSync(OUT, JSON.stringify({ ...results, extraction: { model: EMBED_MODEL, ...b } }, null, 2) + "\n");
  console.log(`\nwritten to ${path.relative(process.cwd(), OUT)}`);
}

await main();
