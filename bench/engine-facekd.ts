// facekd's side of the engine benchmark: the micro-CNN, each case's timed loop on the engine (with the time of each
// phase of a train step and the process's CPU time), the matmul, the per-op overhead with and without Tensor
// objects, and the addon calls one train step makes.
import * as torch from "../src/torch/index.js";
import type { Tensor } from "../src/torch/index.js";
import { native } from "../src/torch/native.js";
import { SGD } from "../src/torch/optim/index.js";
import {
  BATCH,
  PHASES,
  SIZE,
  zeroPhases,
  type CaseName,
  type Format,
  type Phases,
  type Sample,
  type Side,
  type Usage,
} from "./engine-cases.js";

const { nn } = torch;
const F = nn.functional;

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

const now = (): number => performance.now();

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

export class Ours implements Side {
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
