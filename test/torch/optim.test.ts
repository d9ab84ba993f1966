import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  AdamW,
  CosineAnnealingLR,
  LinearWarmup,
  MultiStepLR,
  PolynomialLR,
  SGD,
  StepLR,
  clipGradNorm,
  type LRScheduler,
  type Optimizer,
  type OptimizerStateDict,
} from "../../src/torch/optim/index.js";

const { Parameter } = torch.nn;
type Param = InstanceType<typeof Parameter>;

const param = (values: number[], dtype: torch.DType = "float64"): Param =>
  new Parameter(torch.tensor(values, { dtype }));

function setGrad(p: Param, values: number[]): void {
  torch.tidy(() => {
    p.grad = torch.tensor(values, { dtype: p.dtype });
  });
}

function gradOf(p: Param): number[] | null {
  return torch.tidy(() => p.grad?.toNumbers() ?? null);
}

function assertClose(actual: readonly number[], expected: readonly number[], tol = 1e-12): void {
  assert.equal(actual.length, expected.length, `length ${actual.length} vs ${expected.length}`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `element ${i}: ${a} vs expected ${e} (tol ${tol})`);
  });
}

// ---- plain-JS references of PyTorch's update rules ----

interface SGDRef {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

function sgdReference(p0: number[], grads: number[][], o: SGDRef): number[] {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = o;
  const p = [...p0];
  let buf: number[] | null = null;
  for (const g of grads) {
    const d = g.map((gi, i) => gi + weightDecay * p[i]!);
    let update = d;
    if (momentum !== 0) {
      const b: number[] = buf === null ? [...d] : buf.map((bi, i) => momentum * bi + (1 - dampening) * d[i]!);
      buf = b;
      update = nesterov ? d.map((di, i) => di + momentum * b[i]!) : b;
    }
    p.forEach((_, i) => (p[i]! -= lr * update[i]!));
  }
  return p;
}

interface AdamWRef {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

function adamwReference(p0: number[], grads: number[][], o: AdamWRef): number[] {
  const [b1, b2] = o.betas;
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, k) => {
    const step = k + 1;
    for (let i = 0; i < p.length; i++) {
      p[i] = p[i]! * (1 - o.lr * o.weightDecay);
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const mHat = m[i]! / (1 - b1 ** step);
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** step) + o.eps;
      p[i] = p[i]! - (o.lr * mHat) / denom;
    }
  });
  return p;
}

const P0 = [0.5, -1.25, 2, 0.125];
const GRADS = [
  [0.3, -0.2, 1.5, 0],
  [-0.1, 0.4, 0.25, 2],
  [0.05, 0.6, -0.75, -1],
];

function runOptimizer(make: (p: Param) => Optimizer, grads = GRADS): number[] {
  const p = param(P0);
  const opt = make(p);
  for (const g of grads) {
    setGrad(p, g);
    opt.step();
  }
  const out = p.toNumbers();
  opt.dispose();
  p.dispose();
  return out;
}

describe("SGD", () => {
  test("one plain step is p - lr * g", () => {
    const p = param([1, 2]);
    const opt = new SGD([p], { lr: 0.1 });
    setGrad(p, [0.5, -1]);
    opt.step();
    assertClose(p.toNumbers(), [0.95, 2.1]);
    p.dispose();
  });

  const cases: [string, SGDRef][] = [
    ["plain", { lr: 0.1 }],
    ["momentum", { lr: 0.1, momentum: 0.9 }],
    ["nesterov", { lr: 0.05, momentum: 0.9, nesterov: true }],
    ["weight decay", { lr: 0.1, weightDecay: 5e-2 }],
    ["momentum + weight decay + dampening", { lr: 0.1, momentum: 0.8, dampening: 0.3, weightDecay: 1e-2 }],
    ["nesterov + weight decay", { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 }],
  ];
  for (const [name, o] of cases) {
    test(`${name}: 3 steps match the hand-computed rule`, () => {
      const actual = runOptimizer((p) => new SGD([p], o));
      assertClose(actual, sgdReference(P0, GRADS, o));
    });
  }

  test("momentum: two steps by hand", () => {
    // buf1 = g1 = 1; p1 = 1 - 0.1 = 0.9; buf2 = 0.9 * 1 + 2 = 2.9; p2 = 0.9 - 0.29 = 0.61
    const p = param([1]);
    const opt = new SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1]);
    opt.step();
    setGrad(p, [2]);
    opt.step();
    assertClose(p.toNumbers(), [0.61]);
    opt.dispose();
    p.dispose();
  });

  test("the state survives the caller's tidy() and leaves no temporaries in it", () => {
    const o = { lr: 0.1, momentum: 0.9, weightDecay: 0.01 };
    const p = param(P0);
    const opt = new SGD([p], o);
    for (const g of GRADS) {
      torch.tidy(() => {
        setGrad(p, g);
        const before = torch.trackedCount();
        opt.step();
        assert.equal(torch.trackedCount(), before);
      });
    }
    assertClose(p.toNumbers(), sgdReference(P0, GRADS, o));
    opt.dispose();
    p.dispose();
  });

  test("rejects bad hyperparameters with a message naming them", () => {
    const p = param([1]);
    assert.throws(() => new SGD([p], { lr: -1 }), /lr/);
    assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /nesterov/);
    assert.throws(() => new SGD([], { lr: 0.1 }), /empty/);
    assert.throws(() => new SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one/);
    p.dispose();
  });
});

describe("AdamW", () => {
  test("the first step moves each weight by about lr against its gradient's sign, after decay", () => {
    // p = 1 * (1 - 0.1 * 0.1) = 0.99; m/bc1 = 0.5, sqrt(v/bc2) = 0.5, so p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8)
    const p = param([1, -2]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.1 });
    setGrad(p, [0.5, -3]);
    opt.step();
    assertClose(p.toNumbers(), [0.99 - 0.05 / (0.5 + 1e-8), -1.98 + 0.3 / (3 + 1e-8)]);
    opt.dispose();
    p.dispose();
  });

  const cases: [string, AdamWRef][] = [
    ["defaults", { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2 }],
    ["large lr and decay, other betas and eps", { lr: 0.1, betas: [0.8, 0.95], eps: 1e-3, weightDecay: 0.5 }],
    ["no weight decay", { lr: 0.05, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 }],
  ];
  for (const [name, o] of cases) {
    test(`${name}: 3 steps match the hand-computed rule`, () => {
      const actual = runOptimizer((p) => new AdamW([p], o));
      assertClose(actual, adamwReference(P0, GRADS, o));
    });
  }

  test("the state dict holds the moments and the step count", () => {
    const p = param(P0);
    const opt = new AdamW([p]);
    setGrad(p, GRADS[0]!);
    opt.step();
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual([...sd.tensors.keys()], ["state.0.exp_avg", "state.0.exp_avg_sq"]);
    assert.deepEqual(sd.meta.state, { "0": { step: 2 } });
    assert.deepEqual(sd.meta.paramGroups, [
      { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, params: [0] },
    ]);
    // m2 = 0.9 * 0.1 g + 0.1 g = 0.19 g
    assertClose(
      sd.tensors.get("state.0.exp_avg")!.toNumbers(),
      GRADS[0]!.map((g) => 0.19 * g),
    );
    opt.dispose();
    assert.equal(opt.stateDict().tensors.size, 0);
    p.dispose();
  });
});

describe("param groups", () => {
  test("per-group overrides and a changed group lr apply to their parameters only", () => {
    const a = param([1, 2]);
    const b = param([3, -1]);
    const opt = new SGD([{ params: [a] }, { params: [b], lr: 0.5, weightDecay: 0.1 }], { lr: 0.1, momentum: 0.9 });
    assert.equal(opt.paramGroups[0]!.lr, 0.1);
    assert.equal(opt.paramGroups[1]!.momentum, 0.9);
    const ga = [
      [0.2, -0.4],
      [1, 1],
      [0.5, 0],
    ];
    const gb = [
      [-1, 0.5],
      [0.25, 2],
      [0, 1],
    ];
    for (let k = 0; k < 3; k++) {
      if (k === 2) opt.paramGroups[0]!.lr = 0.2;
      setGrad(a, ga[k]!);
      setGrad(b, gb[k]!);
      opt.step();
    }
    // group 0: lr 0.1 for two steps, then 0.2 (the buffer carries over)
    const a2 = sgdReference([1, 2], ga.slice(0, 2), { lr: 0.1, momentum: 0.9 });
    const buf2 = [0.9 * 0.2 + 1, 0.9 * -0.4 + 1];
    const buf3 = buf2.map((x, i) => 0.9 * x + ga[2]![i]!);
    assertClose(
      a.toNumbers(),
      a2.map((x, i) => x - 0.2 * buf3[i]!),
    );
    assertClose(b.toNumbers(), sgdReference([3, -1], gb, { lr: 0.5, momentum: 0.9, weightDecay: 0.1 }));
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  test("parameters without a gradient are skipped and get no state", () => {
    const a = param([1, 2]);
    const b = param([3, 4]);
    const opt = new AdamW([a, b], { lr: 0.1 });
    setGrad(a, [1, 1]);
    opt.step();
    assert.deepEqual(b.toNumbers(), [3, 4]);
    assert.deepEqual([...opt.stateDict().tensors.keys()], ["state.0.exp_avg", "state.0.exp_avg_sq"]);
    opt.dispose();
    a.dispose();
    b.dispose();
  });

  test("zeroGrad sets every gradient to null", () => {
    const a = new Parameter(torch.tensor([1, 2, 3]));
    const b = new Parameter(torch.tensor([4]));
    const opt = new SGD([{ params: [a] }, { params: [b] }], { lr: 0.1 });
    torch.tidy(() => a.mul(a).sum().add(b.sum()).backward());
    assert.deepEqual(gradOf(a), [2, 4, 6]);
    assert.deepEqual(gradOf(b), [1]);
    opt.zeroGrad();
    assert.equal(gradOf(a), null);
    assert.equal(gradOf(b), null);
    a.dispose();
    b.dispose();
  });
});

describe("state dicts", () => {
  // A float32 training loop with real backward passes; `from` lets a run start from saved state.
  interface Run {
    params: Param[];
    opt: Optimizer;
    sched: LRScheduler;
  }
  type Make = (params: Param[]) => { opt: Optimizer; sched: LRScheduler };

  function start(make: Make, values?: number[][]): Run {
    torch.manualSeed(7);
    const params = values
      ? values.map((v, i) => new Parameter(torch.tensor(v).reshape(i === 0 ? [2, 3] : [4])))
      : [new Parameter(torch.randn([2, 3])), new Parameter(torch.randn([4]))];
    return { params, ...make(params) };
  }

  function train(run: Run, steps: number): void {
    for (let k = 0; k < steps; k++) {
      run.opt.zeroGrad();
      torch.tidy(() => {
        const [w, v] = run.params as [Param, Param];
        w.mul(w).sum().mul(0.5).add(w.sin().sum()).add(v.mul(v).mul(v).sum()).backward();
      });
      clipGradNorm(run.params, 2);
      run.opt.step();
      run.sched.step();
    }
  }

  function finish(run: Run): number[][] {
    const out = run.params.map((p) => Array.from(p.data() as Float32Array));
    run.opt.dispose();
    for (const p of run.params) p.dispose();
    return out;
  }

  // As a checkpoint would: tensors copied out, metadata and scheduler state through JSON.
  function save(run: Run): { opt: OptimizerStateDict; sched: string; values: number[][] } {
    const sd = run.opt.stateDict();
    return {
      opt: {
        tensors: new Map([...sd.tensors].map(([k, t]) => [k, torch.keep(t.clone())])),
        meta: JSON.parse(JSON.stringify(sd.meta)),
      },
      sched: JSON.stringify(run.sched.stateDict()),
      values: run.params.map((p) => p.toNumbers()),
    };
  }

  const makers: [string, Make][] = [
    [
      "SGD (momentum, nesterov, weight decay) with warmup + polynomial decay",
      (params) => {
        const opt = new SGD([{ params: [params[0]!] }, { params: [params[1]!], weightDecay: 0 }], {
          lr: 0.1,
          momentum: 0.9,
          nesterov: true,
          weightDecay: 5e-4,
        });
        return {
          opt: opt,
          sched: new LinearWarmup(new PolynomialLR(opt, { totalSteps: 5 }), { warmupSteps: 2 }),
        };
      },
    ],
    [
      "AdamW with cosine annealing",
      (params) => {
        const opt = new AdamW(params, { lr: 0.01, weightDecay: 0.05 });
        return { opt: opt, sched: new CosineAnnealingLR(opt, { tMax: 6 }) };
      },
    ],
  ];

  for (const [name, make] of makers) {
    test(`${name}: save, load and continue is bit-identical to an uninterrupted run`, () => {
      const reference = finish(
        ((r) => {
          train(r, 7);
          return r;
        })(start(make)),
      );

      const first = start(make);
      train(first, 3);
      const saved = save(first);
      finish(first);

      const resumed = start(make, saved.values);
      // Scramble the hyperparameters: loading must restore them.
      resumed.opt.paramGroups.forEach((g) => ((g as { lr: number }).lr = 123));
      resumed.opt.loadStateDict(saved.opt);
      resumed.sched.loadStateDict(JSON.parse(saved.sched));
      for (const t of saved.opt.tensors.values()) t.dispose(); // the optimizer holds copies
      train(resumed, 4);
      assert.deepEqual(finish(resumed), reference);
    });
  }

  test("SGD names its momentum buffers state.<index>.momentum_buffer", () => {
    const a = param([1]);
    const b = param([2]);
    const c = param([3]);
    const opt = new SGD([{ params: [a, b] }, { params: [c] }], { lr: 0.1, momentum: 0.5 });
    setGrad(a, [1]);
    setGrad(c, [2]);
    opt.step();
    const sd = opt.stateDict();
    assert.deepEqual([...sd.tensors.keys()], ["state.0.momentum_buffer", "state.2.momentum_buffer"]);
    assert.deepEqual(
      sd.meta.paramGroups.map((g) => g.params),
      [[0, 1], [2]],
    );
    assert.deepEqual(sd.tensors.get("state.2.momentum_buffer")!.toNumbers(), [2]);

    // Loading restores the groups' hyperparameters too, as PyTorch's load_state_dict.
    const fresh = [param([0]), param([0]), param([0])];
    const other = new SGD([{ params: fresh.slice(0, 2) }, { params: fresh.slice(2), lr: 7 }], {
      lr: 1,
      momentum: 0.1,
      weightDecay: 0.3,
    });
    other.loadStateDict(sd);
    assert.deepEqual(
      other.paramGroups.map(({ params: _, ...h }) => h),
      opt.paramGroups.map(({ params: _, ...h }) => h),
    );
    assert.deepEqual(other.stateDict().tensors.get("state.2.momentum_buffer")!.toNumbers(), [2]);
    other.dispose();
    opt.dispose();
    for (const p of [a, b, c, ...fresh]) p.dispose();
  });

  test("loading a state dict that does not fit throws and changes nothing", () => {
    const a = param([1, 2]);
    const sgd = new SGD([a], { lr: 0.1, momentum: 0.9 });
    setGrad(a, [1, 1]);
    sgd.step();
    const sd = sgd.stateDict();
    const b = param([1, 2]);
    const c = param([1]);
    assert.throws(() => new AdamW([b]).loadStateDict(sd), /saved by SGD/);
    assert.throws(() => new SGD([b, c], { lr: 0.1 }).loadStateDict(sd), /sizes \[1\].*\[2\]/);
    const wrongShape = new SGD([c], { lr: 0.1, momentum: 0.9 });
    assert.throws(() => wrongShape.loadStateDict(sd), /shape \[2\].*\[1\]/);
    assert.equal(wrongShape.stateDict().tensors.size, 0);
    sgd.dispose();
    for (const p of [a, b, c]) p.dispose();
  });
});

describe("schedulers", () => {
  const BASE = [0.1, 0.02];
  const groups = (): { paramGroups: { lr: number }[] } => ({ paramGroups: BASE.map((lr) => ({ lr })) });

  // The lrs at steps 0..n (step 0 is what the constructor sets).
  function sequence(s: LRScheduler, n: number): number[][] {
    const out = [s.lastLr()];
    for (let k = 0; k < n; k++) {
      s.step();
      out.push(s.lastLr());
    }
    return out;
  }

  function assertSequence(actual: number[][], factors: number[], base = BASE): void {
    assert.equal(actual.length, factors.length);
    actual.forEach((lrs, k) =>
      assertClose(
        lrs,
        base.map((b) => b * factors[k]!),
        1e-14,
      ),
    );
  }

  test("StepLR", () => {
    assertSequence(sequence(new StepLR(groups(), { stepSize: 2, gamma: 0.5 }), 5), [1, 1, 0.5, 0.5, 0.25, 0.25]);
  });

  test("MultiStepLR (milestones in any order)", () => {
    assertSequence(
      sequence(new MultiStepLR(groups(), { milestones: [5, 2], gamma: 0.1 }), 6),
      [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01],
    );
  });

  test("PolynomialLR: linear to 0 by default, then stays at 0; power 2", () => {
    assertSequence(sequence(new PolynomialLR(groups(), { totalSteps: 4 }), 5), [1, 0.75, 0.5, 0.25, 0, 0]);
    assertSequence(sequence(new PolynomialLR(groups(), { totalSteps: 4, power: 2 }), 4), [1, 0.5625, 0.25, 0.0625, 0]);
  });

  test("CosineAnnealingLR with etaMin", () => {
    const s = new CosineAnnealingLR({ paramGroups: [{ lr: 0.1 }] }, { tMax: 4, etaMin: 0.001 });
    const half = 0.099; // base - etaMin
    const expected = [
      0.1,
      0.001 + (half * (1 + Math.SQRT1_2)) / 2,
      0.001 + half / 2,
      0.001 + (half * (1 - Math.SQRT1_2)) / 2,
      0.001,
    ];
    assertClose(sequence(s, 4).flat(), expected, 1e-14);
  });

  test("LinearWarmup then the inner schedule, which starts when warmup ends", () => {
    const opt = groups();
    const s = new LinearWarmup(new StepLR(opt, { stepSize: 2, gamma: 0.5 }), { warmupSteps: 3 });
    assertSequence(sequence(s, 7), [0, 1 / 3, 2 / 3, 1, 1, 0.5, 0.5, 0.25]);
    assert.deepEqual(
      opt.paramGroups.map((g) => g.lr),
      s.lastLr(),
    );

    const f = new LinearWarmup(new PolynomialLR(groups(), { totalSteps: 8 }), { warmupSteps: 2, startFactor: 0.4 });
    assertSequence(sequence(f, 10), [0.4, 0.7, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125, 0]);

    const none = new LinearWarmup(new StepLR(groups(), { stepSize: 1, gamma: 0.5 }), { warmupSteps: 0 });
    assertSequence(sequence(none, 2), [1, 0.5, 0.25]);
  });

  test("a real optimizer's group lrs follow the scheduler", () => {
    const p = param([1]);
    const opt = new SGD([{ params: [p] }, { params: [], lr: 0.02 }], { lr: 0.1 });
    const s = new StepLR(opt, { stepSize: 1, gamma: 0.5 });
    s.step();
    assert.deepEqual(
      opt.paramGroups.map((g) => g.lr),
      [0.05, 0.01],
    );
    p.dispose();
  });

  test("state round-trips through JSON and resumes the same sequence", () => {
    const make = (opt: { paramGroups: { lr: number }[] }): LRScheduler =>
      new LinearWarmup(new CosineAnnealingLR(opt, { tMax: 10, etaMin: 1e-4 }), { warmupSteps: 2 });
    const full = sequence(make(groups()), 8);
    const first = make(groups());
    sequence(first, 3);
    const state = JSON.parse(JSON.stringify(first.stateDict()));
    assert.equal(state.lastStep, 3);
    // A fresh optimizer whose lr was already decayed: the saved base lrs win.
    const opt = { paramGroups: [{ lr: 0.5 }, { lr: 0.5 }] };
    const resumed = make(opt);
    resumed.loadStateDict(state);
    assert.deepEqual(resumed.lastLr(), full[3]);
    assert.deepEqual(sequence(resumed, 5), full.slice(3));
    assert.deepEqual(resumed.lrAt(5), full[5]);
    assert.throws(() => new StepLR(groups(), { stepSize: 1 }).loadStateDict(state), /saved by LinearWarmup/);
  });
});

describe("clipGradNorm", () => {
  function withGrads(grads: number[][], dtype: torch.DType = "float32"): Param[] {
    return grads.map((g) => {
      const p = param(
        g.map(() => 0),
        dtype,
      );
      setGrad(p, g);
      return p;
    });
  }
  const grads = (ps: Param[]): number[][] => ps.map((p) => gradOf(p)!);
  const dispose = (ps: Param[]): void => ps.forEach((p) => p.dispose());

  test("scales by maxNorm / (total + 1e-6) and returns the norm before clipping", () => {
    const ps = withGrads([[3, 4], [12]]);
    assert.equal(clipGradNorm(ps, 6.5), 13);
    const coef = 6.5 / (13 + 1e-6);
    assertClose(grads(ps).flat(), [3 * coef, 4 * coef, 12 * coef], 1e-6);
    dispose(ps);

    const exact = withGrads([[3, 4], [12]], "float64");
    assert.equal(clipGradNorm(exact, 6.5), 13);
    assertClose(grads(exact).flat(), [3 * coef, 4 * coef, 12 * coef], 1e-15);
    dispose(exact);
  });

  test("leaves the gradients untouched when the norm is below maxNorm", () => {
    const ps = withGrads([[3, 4], [12]]);
    assert.equal(clipGradNorm(ps, 20), 13);
    assert.deepEqual(grads(ps), [[3, 4], [12]]);
    dispose(ps);
  });

  test("infinity norm and 1-norm", () => {
    const ps = withGrads([[3, -4], [2]], "float64");
    assert.equal(clipGradNorm(ps, 1, Infinity), 4);
    const coef = 1 / (4 + 1e-6);
    assertClose(grads(ps).flat(), [3 * coef, -4 * coef, 2 * coef], 1e-15);
    dispose(ps);

    const one = withGrads([[3, -4], [2]], "float64");
    assert.equal(clipGradNorm(one, 90, 1), 9);
    assert.deepEqual(grads(one), [[3, -4], [2]]);
    dispose(one);
  });

  test("ignores parameters without a gradient; 0 when none has one", () => {
    const ps = withGrads([[6, 8]]);
    const bare = param([100, 100], "float32");
    assert.equal(clipGradNorm([...ps, bare], 5), 10);
    assert.equal(gradOf(bare), null);
    assertClose(grads(ps).flat(), [6 * (5 / (10 + 1e-6)), 8 * (5 / (10 + 1e-6))], 1e-6);
    assert.equal(clipGradNorm([bare], 5), 0);
    dispose([...ps, bare]);
  });
});
