import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { embeddingDistance, embeddingLoss, EMBEDDING_METRICS } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, huber, mean, norm, squaredDistance, sum, sub, unit, valueOf, type Matrix } from "./reference.js";

const A: Matrix = [
  [1, 2, 2],
  [0, 3, 4],
  [0.5, -0.2, 0.1],
];
const B: Matrix = [
  [2, 1, 2],
  [3, 0, 4],
  [0.4, 0.1, -0.3],
];

// per-sample distances by hand; every metric sums over dimensions and averages over the batch
const BY_HAND = {
  "normalized-l2": mean(A.map((a, i) => squaredDistance(unit(a), unit(B[i]!)))),
  l2: mean(A.map((a, i) => squaredDistance(a, B[i]!))),
  cosine: mean(A.map((a, i) => 1 - dot(a, B[i]!) / (norm(a) * norm(B[i]!)))),
  "smooth-l1": mean(A.map((a, i) => sum(sub(a, B[i]!).map((x) => huber(x))))),
};

describe("embedding distillation L_emb", () => {
  for (const metric of EMBEDDING_METRICS) {
    test(`${metric}: summed over dimensions, averaged over the batch`, () => {
      const got = valueOf(() => embeddingDistance(f64(A), f64(B), { metric }));
      assert.ok(Math.abs(got - BY_HAND[metric]) < 1e-9, `${got} vs ${BY_HAND[metric]}`);
    });

    test(`${metric}: gradients match finite differences`, () => {
      gradcheck(([a, b]) => embeddingDistance(a!, b!, { metric }), [input([3, 5], 1), input([3, 5], 2)]);
    });
  }

  test("the sizes behind ReFO's weights: normalized distance is at most 4, cosine is half of it", () => {
    const opposite = valueOf(() => embeddingDistance(f64([[1, 0]]), f64([[-3, 0]])));
    assert.ok(Math.abs(opposite - 4) < 1e-12);
    assert.ok(Math.abs(BY_HAND.cosine * 2 - BY_HAND["normalized-l2"]) < 1e-12);
  });

  test("smooth-l1's threshold", () => {
    const got = valueOf(() => embeddingDistance(f64(A), f64(B), { metric: "smooth-l1", beta: 0.5 }));
    assert.ok(Math.abs(got - mean(A.map((a, i) => sum(sub(a, B[i]!).map((x) => huber(x, 0.5)))))) < 1e-9);
  });

  test("a live teacher's embedding through the context", () => {
    const got = valueOf(() =>
      embeddingLoss({ metric: "l2" })({ student: { embedding: f64(A) }, teacher: { embedding: f64(B) } }),
    );
    assert.ok(Math.abs(got - BY_HAND.l2) < 1e-9);
  });

  test("errors: mismatched shapes, unknown metric, missing inputs", () => {
    torch.tidy(() => {
      assert.throws(
        () => embeddingDistance(torch.zeros([4, 128]), torch.zeros([4, 512])),
        /L_emb.*\[4, 128\].*\[4, 512\] differ in shape/,
      );
      assert.throws(() => embeddingDistance(torch.zeros([4]), torch.zeros([4])), /must be 2-d/);
      assert.throws(() => embeddingLoss({ metric: "l3" as "l2" }), /metric must be one of normalized-l2, l2/);
      assert.throws(
        () => embeddingLoss()({ student: { embedding: torch.zeros([2, 3]) } }),
        /loss 'embedding' needs the teacher's embedding \[N, D\]: set context.teacher.embedding/,
      );
      assert.throws(
        () =>
          embeddingLoss()({ student: { embedding: torch.zeros([2, 3]) }, teacher: { embedding: torch.zeros([3, 3]) } }),
        /the student's embedding \[2, 3\] and the teacher's \[3, 3\] differ in shape/,
      );
    });
  });
});
