import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { combineLosses, marginDistillation, teacherMargins } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, FS, FT, int64, mean, softmax, unit, valueOf, type Matrix } from "./reference.js";

const W: Matrix = [
  [1, 0, 0],
  [0, 1, 0.5],
  [-0.3, 0.2, 1],
  [0.7, -0.7, 0.1],
];
const LABELS = [0, 2];

function margins(mMax: number, mMin: number): number[] {
  const c = FT.map((t, i) => Math.max(0, dot(unit(t), unit(W[LABELS[i]!]!))));
  return c.map((x) => mMin + ((mMax - mMin) * x) / Math.max(...c));
}

function loss(s: number, mMax: number, mMin: number): number {
  const m = margins(mMax, mMin);
  return mean(
    FS.map((row, i) => {
      const y = LABELS[i]!;
      const logits = W.map((w, c) => {
        const cos = dot(unit(row), unit(w));
        return s * (c === y ? Math.cos(Math.acos(cos) + m[i]!) : cos);
      });
      return -Math.log(softmax(logits)[y]!);
    }),
  );
}

describe("MarginDistillation", () => {
  test("margins from the teacher's closeness to its centres, scaled to [mMin, mMax] by the batch's maximum", () => {
    const got = torch.tidy(() => teacherMargins(f64(FT), f64(W), int64(LABELS)).toNumbers());
    const want = margins(0.5, 0.2);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-12));
    assert.ok(Math.abs(Math.max(...got) - 0.5) < 1e-12 && Math.min(...got) < 0.5);
  });

  test("ArcFace on the teacher's frozen centres with those margins, by hand", () => {
    for (const [s, mMax, mMin] of [
      [64, 0.5, 0.2],
      [8, 0.4, 0.1],
    ] as const) {
      const got = valueOf(() => marginDistillation(f64(FS), f64(FT), f64(W), int64(LABELS), { s, mMax, mMin }));
      const want = loss(s, mMax, mMin);
      assert.ok(Math.abs(got - want) < 1e-9 * Math.max(1, want), `${got} vs ${want}`);
    }
  });

  test("through the registry: the teacher's classifier stays frozen and a missing one is named", () => {
    const objective = combineLosses([{ name: "margin-distillation", options: { s: 8 } }]);
    torch.tidy(() => {
      const [student, classifier] = [f64(FS).requiresGrad_(true), f64(W).requiresGrad_(true)];
      const ctx = { student: { embedding: student }, labels: int64(LABELS) };
      objective({ ...ctx, teacher: { embedding: f64(FT), classifier } }).total.backward();
      assert.equal(classifier.grad, null);
      assert.ok(student.grad!.abs().sum().item() > 0);
      assert.throws(
        () => objective({ ...ctx, teacher: { embedding: f64(FT) } }),
        /loss 'margin-distillation' needs the teacher's classifier weight/,
      );
    });
    assert.throws(
      () => combineLosses([{ name: "margin-distillation", options: { mMax: 0.1, mMin: 0.3 } }]),
      /need 0 <= mMin <= mMax < pi/,
    );
  });

  test("gradients match finite differences", () => {
    gradcheck(([s]) => marginDistillation(s!, f64(FT), f64(W), int64(LABELS), { s: 4 }), [input([2, 3], 1)]);
  });
});
