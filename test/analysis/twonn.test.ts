import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { twoNN } from "../../src/analysis/twonn.js";

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12 * Math.abs(expected), `${what}: ${actual} != ${expected}`);

// The slope of the least-squares line through the origin.
const slope = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0) / x.reduce((s, v) => s + v * v, 0);

describe("TwoNN estimators on hand-made distances", () => {
  // ten points with log(mu) = 0.1 .. 1.0 (shuffled), one duplicate (r1 = r2 = 0) and one with r1 = r2 = 2
  const logMu = [0.7, 0.1, 1.0, 0.4, 0.9, 0.2, 0.6, 0.3, 0.8, 0.5];
  const r1 = torch.tensor([...logMu.map(() => 1.5), 0, 2], { dtype: "float64" });
  const r2 = torch.tensor([...logMu.map((a) => 1.5 * Math.exp(a)), 0, 2], { dtype: "float64" });
  const sortedLogMu = [...logMu].sort((a, b) => a - b).map((a) => Math.log(Math.exp(a)));

  test("skdim: N = 12 keeps trunc(10.8) = 10 smallest mu (mu = 1 first, the duplicate's NaN discarded)", () => {
    const x = [0, ...sortedLogMu.slice(0, 9)];
    const y = x.map((_, i) => -Math.log(1 - i / 12));
    close(twoNN(r1, r2), slope(x, y), "skdim");
  });

  test("ansuini: drops r1 = 0 and r1 = r2, N = 10, fits min(floor(9), N - 2) = 8 points from F = 1/10", () => {
    const x = sortedLogMu.slice(0, 8);
    const y = x.map((_, i) => -Math.log(1 - (i + 1) / 10));
    close(twoNN(r1, r2, { variant: "ansuini" }), slope(x, y), "ansuini");
  });

  test("mle: (N - 1) / sum(log mu) over r1 > 0, the r1 = r2 point included", () => {
    close(twoNN(r1, r2, { variant: "mle" }), 10 / 5.5, "mle");
  });

  test("skdim refuses more duplicates than its discarded tail", () => {
    const dup = torch.tensor([0, 0, 1, 1], { dtype: "float64" });
    assert.throws(() => twoNN(dup, torch.tensor([1, 1, 2, 3], { dtype: "float64" })), /2 of 4 points have a duplicate/);
    assert.throws(() => twoNN(r1, r2, { discard: 1 }), /discard must be in \[0, 1\)/);
  });

  test("Pareto samples of known d: every variant recovers d", () => {
    // mu = u^(-1/d) has the TwoNN law d mu^-(d+1) exactly
    torch.manualSeed(5);
    for (const d of [2, 7]) {
      const mu = torch.rand([200000], { dtype: "float64" }).pow(-1 / d);
      const ones = torch.ones([200000], { dtype: "float64" });
      for (const variant of ["skdim", "ansuini", "mle"] as const) {
        const estimate = twoNN(ones, mu, { variant });
        assert.ok(Math.abs(estimate / d - 1) < 0.02, `${variant} on d = ${d}: ${estimate}`);
      }
    }
  });
});
