import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { EkdThresholds, combineLosses, evaluationOrientedKD } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, int64, mean, unit, valueOf, type Matrix } from "./reference.js";

// 5 samples of 3 identities: pairs (0,1) and (2,3) are positive, the other 8 negative
const ES: Matrix = [
  [1, 0.2, 0],
  [0.8, 0.5, -0.1],
  [0, 1, 0.3],
  [0.3, 0.9, 0.6],
  [-0.5, 0.4, 1],
];
const ET: Matrix = [
  [0.9, 0, 0.1],
  [1, 0.3, 0],
  [0.1, 1, -0.2],
  [0, 0.8, 0.4],
  [-0.2, -0.3, 1],
];
const LABELS = [0, 0, 1, 1, 2];
const OPTIONS = { fars: [0.5, 0.25], temperature: 0.1, momentum: 0.5, topk: 3 };

interface State {
  student: number[];
  teacher: number[];
}

/** One step by hand: the thresholds' update, then the loss. */
function ekd(s: Matrix, t: Matrix, state: State): number {
  const pairs: [number, number][] = [];
  for (let i = 0; i < s.length; i++) for (let j = i + 1; j < s.length; j++) pairs.push([i, j]);
  const cos = (e: Matrix, [i, j]: [number, number]) => dot(unit(e[i]!), unit(e[j]!));
  const positives = pairs.filter(([i, j]) => LABELS[i] === LABELS[j]);
  const negatives = pairs.filter(([i, j]) => LABELS[i] !== LABELS[j]);
  for (const [who, e] of [
    ["student", s],
    ["teacher", t],
  ] as const) {
    const sorted = negatives.map((p) => cos(e, p)).sort((a, b) => b - a);
    state[who] = OPTIONS.fars.map((f, a) => 0.5 * sorted[Math.floor(negatives.length * f)]! + 0.5 * state[who][a]!);
  }
  const rank = (x: number, thresholds: number[]) =>
    thresholds.reduce((n, a) => n + 1 / (1 + Math.exp(-(x - a) / OPTIONS.temperature)), 0);
  const term = (chosen: [number, number][]) =>
    mean(chosen.map((p) => (rank(cos(s, p), state.student) - rank(cos(t, p), state.teacher)) ** 2));
  const hardest = [...negatives].sort((a, b) => cos(s, b) - cos(s, a)).slice(0, OPTIONS.topk);
  return 0.02 * term(positives) + 0.01 * term(hardest);
}

function thresholds(values?: State): EkdThresholds {
  const module = new EkdThresholds(OPTIONS.fars);
  if (values) {
    torch.tidy(() => {
      module.student.copy_(torch.tensor(values.student));
      module.teacher.copy_(torch.tensor(values.teacher));
    });
  }
  return module;
}

describe("EKD", () => {
  test("two steps by hand: moving thresholds, soft ranks of the positives and the hardest negatives", () => {
    const state: State = { student: [0, 0], teacher: [0, 0] };
    const module = thresholds();
    for (const [s, t] of [
      [ES, ET],
      [ET, ES],
    ]) {
      const want = ekd(s!, t!, state);
      const got = valueOf(() => evaluationOrientedKD(f64(s!), f64(t!), int64(LABELS), module, OPTIONS));
      assert.ok(want > 1e-4, "the example is not trivially zero");
      assert.ok(Math.abs(got - want) < 1e-6 * want, `${got} vs ${want}`);
      module.student.toNumbers().forEach((a, i) => assert.ok(Math.abs(a - state.student[i]!) < 1e-6));
    }
    module.dispose();
  });

  test("a batch without positive pairs contributes only its negatives; the thresholds are saved with the run", () => {
    const module = thresholds();
    const value = valueOf(() => evaluationOrientedKD(f64(ES), f64(ET), int64([0, 1, 2, 3, 4]), module, OPTIONS));
    assert.ok(Number.isFinite(value) && value > 0);
    module.dispose();
    const loss = combineLosses([{ name: "ekd", options: { fars: [0.1, 0.01] } }]);
    assert.deepEqual([...loss.module.stateDict().keys()].sort(), ["ekd.student", "ekd.teacher"]);
    assert.deepEqual(loss.module.stateDict().get("ekd.student")!.shape, [2]);
    loss.module.dispose();
    assert.throws(() => combineLosses([{ name: "ekd", options: { fars: [2] } }]), /fars must be a non-empty list/);
  });

  test("gradients match finite differences (thresholds held fixed: momentum 0)", () => {
    const fixed = { student: [0.3, 0.6], teacher: [0.2, 0.5] };
    gradcheck(
      ([s]) => {
        const module = thresholds(fixed);
        const value = evaluationOrientedKD(s!, f64(ET), int64(LABELS), module, { ...OPTIONS, momentum: 0 });
        module.dispose();
        return value;
      },
      [input([5, 3], 1)],
    );
  });
});
