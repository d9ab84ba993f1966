import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { pktLoss, probabilisticTransfer } from "../../src/distill/index.js";
import { EmbeddingStore } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, int64, mean, sum, unit, valueOf, type Matrix } from "./reference.js";

// 3 samples: the student's 2-d, the teacher's 3-d representations
const ES: Matrix = [
  [1, 0.5],
  [-0.3, 2],
  [0.7, -1],
];
const ET: Matrix = [
  [2, 0, 0.3],
  [0.4, -0.6, 1],
  [-1, 1, 0.5],
];

function conditionals(e: Matrix): Matrix {
  const kernel = e.map((a) => e.map((b) => (dot(unit(a), unit(b)) + 1) / 2));
  return kernel.map((row) => row.map((k) => k / sum(row)));
}

function pkt(s: Matrix, t: Matrix): number {
  const [ps, pt] = [conditionals(s), conditionals(t)];
  return mean(pt.flatMap((row, i) => row.map((p, j) => p * Math.log((p + 1e-7) / (ps[i]![j]! + 1e-7)))));
}

describe("PKT", () => {
  test("KL between cosine-kernel conditional probabilities, averaged over all N² entries", () => {
    const want = pkt(ES, ET);
    assert.ok(want > 1e-3, "the example is not trivially zero");
    assert.ok(Math.abs(valueOf(() => probabilisticTransfer(f64(ES), f64(ET))) - want) < 1e-12);
    assert.ok(valueOf(() => probabilisticTransfer(f64(ET), f64(ET))) < 1e-12, "zero against itself");
  });

  test("the teacher's embedding is the live one, or else its precomputed rows at the batch's indices", () => {
    const want = pkt(ES, ET);
    const live = valueOf(() => pktLoss()({ student: { embedding: f64(ES) }, teacher: { embedding: f64(ET) } }));
    assert.ok(Math.abs(live - want) < 1e-12);
    const store = new EmbeddingStore(f64([[9, 9, 9], ET[2]!, ET[0]!, ET[1]!]));
    const stored = valueOf(() =>
      pktLoss()({ student: { embedding: f64(ES) }, indices: int64([2, 3, 1]), precomputed: { teacher: store } }),
    );
    store.dispose();
    assert.ok(Math.abs(stored - want) < 1e-12);
    assert.throws(() => pktLoss()({ student: { embedding: f64(ES) } }), /loss 'pkt' needs the teacher's embedding/);
  });

  test("gradients match finite differences", () => {
    gradcheck(([s, t]) => probabilisticTransfer(s!, t!), [input([4, 3], 1), input([4, 5], 2)]);
  });
});
