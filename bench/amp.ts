// The mixed-precision benchmark: bfloat16 autocast against float32 for arcface_torch's mbf at 112x112 (channels_last),
// a training step (forward and an ArcFace head over 1,000 classes under autocast, backward, SGD on float32 weights)
// and inference, in facekd and in PyTorch's own CPU autocast (bench/peers/models_torch.py, the same network), each
// side's bfloat16 img/s as a ratio of its float32 img/s. bfloat16 is fast on a CPU only with native bfloat16 dot
// products (AVX512-BF16, AMX-BF16): without them libtorch converts, and bfloat16 can be slower than float32.
// Run: `npx tsc -p tsconfig.json && node dist/bench/amp.js [--quick]`; see bench/README.md.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as torch from "../src/torch/index.js";
import { SGD } from "../src/torch/optim/index.js";
import { createModel, heads } from "../src/models/index.js";
import { ModelsPeer } from "./models-peer.js";
import { benchArgs, numberArg, peerPython, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/amp.js [options]
  --model NAME   mbf or iresnet18 (default mbf)
  --batch B      images per step (default 32)
  --threads N    intra-op threads on both sides (default 2)
  --steps S      timed steps per case (default 3)
  --warmup W     untimed steps first (default 1)
  --quick        --steps 1
  --no-peer      skip PyTorch
  --python PATH  the peer's interpreter (default /usr/bin/python3, or FACEKD_PYTHON)
  --out FILE     JSON output (default bench/out/amp.json)`;

const opts = benchArgs(USAGE, {
  model: { type: "string" },
  batch: { type: "string" },
  threads: { type: "string" },
  steps: { type: "string" },
  warmup: { type: "string" },
  quick: { type: "boolean", default: false },
  "no-peer": { type: "boolean", default: false },
  python: { type: "string" },
  out: { type: "string" },
});
const MODEL = opts.model ?? "mbf";
const BATCH = numberArg(USAGE, "batch", opts.batch, 32);
const THREADS = numberArg(USAGE, "threads", opts.threads, 2);
const STEPS = numberArg(USAGE, "steps", opts.steps, opts.quick ? 1 : 3);
const WARMUP = numberArg(USAGE, "warmup", opts.warmup, 1, { min: 0 });
const CLASSES = 1000;
const OUT = opts.out ?? path.join(ROOT, "bench", "out", "amp.json");
torch.setNumThreads(THREADS);

type Mode = "train" | "infer";
type Precision = "float32" | "bfloat16";

function ours(mode: Mode, precision: Precision): number {
  torch.manualSeed(0);
  const model = createModel(MODEL).to({ memoryFormat: "channels_last" });
  const size = model.spec.inputSize;
  const head = new heads.PartialFC({
    margin: new heads.ArcFace(),
    embeddingSize: model.embeddingSize,
    numClasses: CLASSES,
  });
  const opt = new SGD([...model.parameters(), ...head.parameters()], { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const x = torch.keep(torch.tidy(() => torch.randn([BATCH, 3, size, size]).contiguous("channels_last")));
  const labels = torch.keep(torch.randint(0, CLASSES, [BATCH]));
  const cast = <T>(fn: () => T): T =>
    precision === "bfloat16" ? torch.autocast({ device: "cpu", dtype: "bfloat16" }, fn) : fn();
  const step =
    mode === "train"
      ? (): void =>
          torch.tidy(() => {
            const loss = cast(() => head.forward(model.forward(x), labels));
            opt.zeroGrad();
            loss.backward();
            opt.step();
          })
      : (): void => torch.noGrad(() => torch.tidy(() => void cast(() => model.forward(x))));
  model.train(mode === "train");
  try {
    for (let i = 0; i < WARMUP; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < STEPS; i++) step();
    return (STEPS * BATCH) / ((performance.now() - t0) / 1000);
  } finally {
    [model, head, opt, x, labels].forEach((t) => t.dispose());
  }
}

/** The CPU's bfloat16 instructions, from /proc/cpuinfo's flags (Linux). */
function bf16Flags(): string {
  try {
    const flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.split(/\s+/) ?? [];
    const found = ["avx512_bf16", "amx_bf16", "amx_tile"].filter((f) => flags.includes(f));
    return found.length > 0 ? found.join(", ") : "none (no AVX512-BF16, no AMX): bfloat16 is converted in software";
  } catch {
    return "unknown (no /proc/cpuinfo)";
  }
}

async function main(): Promise<void> {
  const cpu = `${os.cpus()[0]?.model.trim() ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  console.log(
    `facekd mixed-precision benchmark: ${MODEL} batch ${BATCH}, ${THREADS} thread(s), ${STEPS} timed step(s)`,
  );
  console.log(`CPU: ${cpu}; bfloat16 instructions: ${bf16Flags()}; libtorch ${torch.buildInfo().torchVersion}`);
  console.log(
    `load average at the start: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const peer = opts["no-peer"] ? null : new ModelsPeer(peerPython(opts.python), THREADS, CLASSES);
  let peerNote: string | null = opts["no-peer"] ? "skipped (--no-peer)" : null;
  if (peer) {
    const ready = await peer.next();
    if (ready.error !== undefined) peerNote = `unavailable: ${String(ready.message)}`;
  }
  const rows: { mode: Mode; precision: Precision; facekd: number; pytorch: number | null }[] = [];
  for (const mode of ["train", "infer"] as const) {
    for (const precision of ["float32", "bfloat16"] as const) {
      const facekd = ours(mode, precision);
      let pytorch: number | null = null;
      if (peer && peerNote === null) {
        const req = {
          op: "case",
          model: MODEL,
          mode,
          batch: BATCH,
          format: "channels_last",
          steps: STEPS,
          warmup: WARMUP,
        };
        pytorch = (await peer.request({ ...req, precision })).value as number;
      }
      rows.push({ mode, precision, facekd, pytorch });
    }
  }
  peer?.close();
  console.log("\nmode   precision  facekd img/s  PyTorch img/s  facekd/PyTorch");
  for (const r of rows) {
    const ratio = r.pytorch ? (r.facekd / r.pytorch).toFixed(2) : "-";
    console.log(
      `${r.mode.padEnd(6)} ${r.precision.padEnd(10)} ${r.facekd.toFixed(1).padStart(12)}  ` +
        `${(r.pytorch?.toFixed(1) ?? "-").padStart(13)}  ${ratio.padStart(14)}`,
    );
  }
  const speedups = (["train", "infer"] as const).map((mode) => {
    const [f32, bf16] = rows.filter((r) => r.mode === mode);
    const side = (k: "facekd" | "pytorch") => (f32![k] && bf16![k] ? bf16![k]! / f32![k]! : null);
    return { mode, facekd: side("facekd"), pytorch: side("pytorch") };
  });
  console.log("\nbfloat16 / float32 speed:");
  for (const s of speedups) {
    console.log(`  ${s.mode}: facekd ${s.facekd?.toFixed(2)}x, PyTorch ${s.pytorch?.toFixed(2) ?? "-"}x`);
  }
  if (peerNote) console.log(`peer: ${peerNote}`);
  console.log(
    `load average at the end: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  mkdirSync(path.dirname(OUT), { recursive: true });
  const cpuFlags = bf16Flags();
  writeFileSync(
    OUT,
    JSON.stringify({ cpu, cpuFlags, threads: THREADS, batch: BATCH, model: MODEL, rows, speedups }, null, 2),
  );
  console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
}

await main();
