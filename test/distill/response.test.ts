import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { crossEntropyLoss, hintonKD, kdLoss, kdMixedLoss } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { f64, int64, kl, mean, softmax, valueOf, type Matrix } from "./reference.js";

const ZS: Matrix = [
  [1, 2, 0.5, -1],
  [0, -1, 3, 0.2],
];
const ZT: Matrix = [
  [2, 1, 0, 0.5],
  [0.5, 0.5, 1, -2],
];
const LABELS = [1, 2];

const scaled = (z: Matrix, T: number): Matrix => z.map((row) => row.map((x) => x / T));
const kdByHand = (T: number): number =>
  mean(ZS.map((_, i) => kl(softmax(scaled(ZT, T)[i]!), softmax(scaled(ZS, T)[i]!)))) * T * T;
const ceByHand = mean(ZS.map((row, i) => -Math.log(softmax(row)[LABELS[i]!]!)));
const ctx = () => ({ student: { logits: f64(ZS) }, teacher: { logits: f64(ZT) }, labels: int64(LABELS) });

describe("response-based distillation", () => {
  test("Hinton KD: KL(p_t || p_s) at temperature T, times T^2, averaged over the batch", () => {
    for (const T of [1, 4]) {
      const got = valueOf(() => hintonKD(f64(ZS), f64(ZT), T));
      assert.ok(Math.abs(got - kdByHand(T)) < 1e-9, `T=${T}: ${got} vs ${kdByHand(T)}`);
    }
    assert.ok(Math.abs(valueOf(() => kdLoss()(ctx())) - kdByHand(4)) < 1e-9, "default T = 4");
  });

  test("mixed: lambda * KD + (1 - lambda) * CE", () => {
    const got = valueOf(() => kdMixedLoss({ temperature: 2, lambda: 0.7 })(ctx()));
    const want = 0.7 * kdByHand(2) + 0.3 * ceByHand;
    assert.ok(Math.abs(got - want) < 1e-9, `${got} vs ${want}`);
  });

  test("plain cross entropy of either model's logits", () => {
    const teacherCE = mean(ZT.map((row, i) => -Math.log(softmax(row)[LABELS[i]!]!)));
    assert.ok(Math.abs(valueOf(() => crossEntropyLoss()(ctx())) - ceByHand) < 1e-9);
    assert.ok(Math.abs(valueOf(() => crossEntropyLoss({ model: "teacher" })(ctx())) - teacherCE) < 1e-9);
  });

  test("gradients match finite differences (both logits)", () => {
    gradcheck(([s, t]) => hintonKD(s!, t!, 3), [input([3, 4], 1, (v) => 3 * v), input([3, 4], 2, (v) => 3 * v)]);
    gradcheck(
      ([s]) =>
        kdMixedLoss({ lambda: 0.5 })({ student: { logits: s! }, teacher: { logits: f64(ZT) }, labels: int64(LABELS) }),
      [input([2, 4], 3)],
    );
  });

  test("errors: shapes, temperature, lambda, missing logits or labels", () => {
    torch.tidy(() => {
      assert.throws(
        () => hintonKD(torch.zeros([2, 4]), torch.zeros([2, 5])),
        /student's logits \[2, 4\] and the teacher's \[2, 5\]/,
      );
      assert.throws(() => kdLoss({ temperature: 0 }), /temperature must be a number above 0, got 0/);
      assert.throws(() => kdMixedLoss({ lambda: 1.5 }), /lambda must be a number in \[0, 1\], got 1.5/);
      assert.throws(() => kdLoss()({ student: { logits: f64(ZS) } }), /needs the teacher's logits \[N, classes\]/);
      assert.throws(
        () => kdMixedLoss()({ student: { logits: f64(ZS) }, teacher: { logits: f64(ZT) } }),
        /loss 'kd-ce' needs the true classes: set context.labels/,
      );
    });
  });
});
