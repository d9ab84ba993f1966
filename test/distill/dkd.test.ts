import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { combineLosses, decoupledKD, dkdLoss, hintonKD } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { f64, int64, kl, mean, softmax, valueOf, ZS, ZT, type Vector } from "./reference.js";

const LABELS = [1, 2];

function dkd(zs: Vector[], zt: Vector[], classes: number[], alpha: number, beta: number, T: number): number {
  return (
    mean(
      zs.map((row, i) => {
        const y = classes[i]!;
        const [ps, pt] = [softmax(row.map((z) => z / T)), softmax(zt[i]!.map((z) => z / T))];
        const tckd = kl([pt[y]!, 1 - pt[y]!], [ps[y]!, 1 - ps[y]!]);
        const others = (z: Vector) => softmax(z.filter((_, c) => c !== y).map((x) => x / T));
        return alpha * tckd + beta * kl(others(zt[i]!), others(row));
      }),
    ) *
    T *
    T
  );
}

describe("DKD", () => {
  test("alpha * TCKD + beta * NCKD, times T^2, against a hand computation", () => {
    for (const [alpha, beta, T] of [
      [1, 8, 4],
      [0.5, 2, 1],
    ] as const) {
      const want = dkd(ZS, ZT, LABELS, alpha, beta, T);
      const got = valueOf(() => decoupledKD(f64(ZS), f64(ZT), int64(LABELS), { alpha, beta, temperature: T }));
      assert.ok(Math.abs(got - want) < 1e-9 * Math.max(1, want), `${alpha}, ${beta}, ${T}: ${got} vs ${want}`);
    }
  });

  test("for one sample, KD = TCKD + (1 - p^t_y) NCKD (the paper's eq. 5)", () => {
    const [zs, zt, y, T] = [[ZS[0]!], [ZT[0]!], [1], 2];
    const tckd = valueOf(() => decoupledKD(f64(zs), f64(zt), int64(y), { alpha: 1, beta: 0, temperature: T }));
    const nckd = valueOf(() => decoupledKD(f64(zs), f64(zt), int64(y), { alpha: 0, beta: 1, temperature: T }));
    const pty = softmax(zt[0]!.map((z) => z / T))[1]!;
    const kd = valueOf(() => hintonKD(f64(zs), f64(zt), T));
    assert.ok(Math.abs(kd - (tckd + (1 - pty) * nckd)) < 1e-12);
  });

  test("through the registry it reads both models' logits and the labels", () => {
    const loss = combineLosses([{ name: "dkd", options: { beta: 2 } }]);
    const value = valueOf(
      () => loss({ student: { logits: f64(ZS) }, teacher: { logits: f64(ZT) }, labels: int64(LABELS) }).total,
    );
    assert.ok(Math.abs(value - dkd(ZS, ZT, LABELS, 1, 2, 4)) < 1e-9);
    assert.throws(() => dkdLoss({ beta: -1 }), /loss 'dkd': beta must be a number >= 0/);
    assert.throws(
      () => dkdLoss()({ student: { logits: f64(ZS) }, teacher: { logits: f64(ZT) } }),
      /loss 'dkd' needs the true classes/,
    );
  });

  test("gradients match finite differences", () => {
    gradcheck(
      ([s, t]) => decoupledKD(s!, t!, int64([0, 3, 1]), { temperature: 2 }),
      [input([3, 4], 1, (v) => 3 * v), input([3, 4], 2, (v) => 3 * v)],
    );
  });
});
