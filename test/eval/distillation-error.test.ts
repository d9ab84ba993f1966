import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { distillationError } from "../../src/eval/index.js";
import { dot, f64, FS, FT, int64, mean, norm, softmax, type Matrix } from "../distill/reference.js";

const W: Matrix = [
  [1, 0, 0],
  [0, 1, 0.5],
  [-0.3, 0.2, 1],
  [0.7, -0.7, 0.1],
];
const LABELS = [0, 2];

/** Phi by hand: the mean absolute gap of the true class's probability through the teacher's classifier. */
function phi(gamma: number, s: number): number {
  const truth = (f: number[], y: number) => softmax(W.map((w) => (s * dot(f, w)) / (norm(f) * norm(w)) / gamma))[y]!;
  return mean(FS.map((f, i) => Math.abs(truth(f, LABELS[i]!) - truth(FT[i]!, LABELS[i]!))));
}

test("Phi_gamma: the true class's probability under the teacher's classifier, student against teacher", () => {
  const got = torch.tidy(() =>
    distillationError(f64(FS), f64(FT), f64(W), int64(LABELS), { temperatures: [1, 4], scale: 10 }),
  );
  assert.deepEqual(
    got.map((g) => g.gamma),
    [1, 4],
  );
  for (const { gamma, value } of got) {
    const want = phi(gamma, 10);
    assert.ok(want > 1e-3, "the example is not trivially zero");
    assert.ok(Math.abs(value - want) < 1e-12, `gamma ${gamma}: ${value} vs ${want}`);
  }
  const same = torch.tidy(() => distillationError(f64(FT), f64(FT), f64(W), int64(LABELS)));
  assert.deepEqual(same, [{ gamma: 1, value: 0 }]);
});

test("Phi_gamma: sizes that do not fit are errors naming them", () => {
  torch.tidy(() => {
    assert.throws(
      () => distillationError(torch.zeros([2, 5]), f64(FT), f64(W), int64(LABELS)),
      /the student's 5-d embeddings do not fit the teacher's classifier \[4, 3\]/,
    );
    assert.throws(
      () => distillationError(f64(FS), f64(FT), f64(W), int64([0])),
      /2 student and 2 teacher embeddings for \[1\] labels/,
    );
  });
});
