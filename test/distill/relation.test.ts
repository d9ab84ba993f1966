import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { rkdAngle, rkdDistance, rkdDistanceLoss, similarityPreserving, spLoss } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, huber, mean, norm, sub, sum, unit, valueOf, type Matrix } from "./reference.js";

// student and teacher representations of 4 samples, of different sizes
const ES: Matrix = [
  [0, 0],
  [1, 0.5],
  [0.2, 2],
  [-1, 1],
];
const ET: Matrix = [
  [0.1, 0, 1],
  [2, 1, 0],
  [0, 3, 1],
  [-1, 2, 2],
];
const pairs = (n: number): [number, number][] => Array.from({ length: n * n }, (_, x) => [Math.floor(x / n), x % n]);

function normalizedDistances(e: Matrix): number[] {
  const d = pairs(e.length).map(([i, j]) => norm(sub(e[i]!, e[j]!)));
  const mu = sum(d) / (e.length * (e.length - 1));
  return d.map((x) => x / mu);
}

// cos of the angle at j between i and k, for every (j, i, k); zero where a vector is degenerate
function angles(e: Matrix): number[] {
  const toward = (j: number, i: number): number[] => (i === j ? e[0]!.map(() => 0) : unit(sub(e[i]!, e[j]!)));
  return pairs(e.length).flatMap(([j, i]) => e.map((_, k) => dot(toward(j, i), toward(j, k))));
}

function gram(e: Matrix): number[][] {
  return e.map((a) => unit(e.map((b) => dot(a, b))));
}

describe("relation-based distillation", () => {
  test("RKD distance: Huber between mean-normalized distances, averaged over all N² pairs", () => {
    const [s, t] = [normalizedDistances(ES), normalizedDistances(ET)];
    const want = mean(s.map((x, i) => huber(x - t[i]!)));
    assert.ok(Math.abs(valueOf(() => rkdDistance(f64(ES), f64(ET))) - want) < 1e-12);
    assert.ok(
      Math.abs(
        valueOf(() => rkdDistanceLoss()({ student: { embedding: f64(ES) }, teacher: { embedding: f64(ET) } })) - want,
      ) < 1e-12,
    );
    // invariant to scale: the normalization by mean distance
    const scaled = ET.map((row) => row.map((x) => 7 * x));
    assert.ok(Math.abs(valueOf(() => rkdDistance(f64(ES), f64(scaled))) - want) < 1e-12);
  });

  test("RKD angle: Huber between triplet angle cosines, averaged over all N³ triplets", () => {
    const [s, t] = [angles(ES), angles(ET)];
    const want = mean(s.map((x, i) => huber(x - t[i]!)));
    assert.ok(want > 1e-3, "the example is not trivially zero");
    assert.ok(Math.abs(valueOf(() => rkdAngle(f64(ES), f64(ET))) - want) < 1e-12);
  });

  test("similarity-preserving: row-normalized Gram matrices, squared Frobenius distance / N²", () => {
    const [s, t] = [gram(ES), gram(ET)];
    const want = sum(s.flatMap((row, i) => row.map((x, j) => (x - t[i]![j]!) ** 2))) / 16;
    assert.ok(Math.abs(valueOf(() => similarityPreserving(f64(ES), f64(ET))) - want) < 1e-12);
    const maps = {
      student: { features: { m: f64(ES).reshape([4, 2, 1, 1]) } },
      teacher: { features: { m: f64(ET).reshape([4, 3, 1, 1]) } },
    };
    assert.ok(Math.abs(valueOf(() => spLoss({ tap: "m" })(maps)) - want) < 1e-12);
  });

  test("gradients match finite differences", () => {
    for (const relation of [rkdDistance, rkdAngle, similarityPreserving]) {
      gradcheck(([s, t]) => relation(s!, t!), [input([4, 3], 1), input([4, 5], 2)]);
    }
  });

  test("errors: different batch sizes, too small a batch", () => {
    torch.tidy(() => {
      assert.throws(
        () => rkdAngle(torch.zeros([4, 2]), torch.zeros([3, 2])),
        /rkd-angle': 4 student and 3 teacher samples/,
      );
      assert.throws(() => rkdDistance(torch.zeros([1, 2]), torch.zeros([1, 2])), /at least 2 samples/);
      assert.throws(() => similarityPreserving(torch.zeros([4, 2, 2]), torch.zeros([4, 2])), /must be 2-d/);
    });
  });
});
