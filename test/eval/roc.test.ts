import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { rocFromHistogram, rocFromScores } from "../../src/eval/roc.js";

const close = (actual: number, expected: number, what: string) =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what}: ${actual} != ${expected}`);

describe("ROC metrics on hand-worked cases", () => {
  // genuine 0.9 0.8 0.5, impostor 0.8 0.5 0.3 0.1: two genuine-impostor ties.
  // Operating points (tp, fp): (0,0) (1,0)@0.9 (2,1)@0.8 (3,2)@0.5 (3,3)@0.3 (3,4)@0.1.
  const genuine = torch.tensor([0.9, 0.8, 0.5], { dtype: "float64" });
  const impostor = torch.tensor([0.8, 0.3, 0.1, 0.5], { dtype: "float64" });

  test("ties: AUC counts a tie as one half (Mann-Whitney 10 / 12)", () => {
    const roc = rocFromScores(genuine, impostor, { fars: [0.1, 0.25, 0.5] });
    close(roc.auc, 10 / 12, "auc");
    assert.equal(roc.genuineCount, 3);
    assert.equal(roc.impostorCount, 4);
    assert.deepEqual(roc.curve.far, [0, 0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(roc.curve.tar, [0, 1 / 3, 2 / 3, 1, 1, 1]);
    assert.deepEqual(roc.curve.threshold, [Infinity, 0.9, 0.8, 0.5, 0.3, 0.1]);
  });

  test("EER interpolates where FNR - FAR changes sign: 1/4 + (1/4)(1/12)/(7/12) = 2/7", () => {
    const roc = rocFromScores(genuine, impostor);
    close(roc.eer, 2 / 7, "eer");
    assert.equal(roc.eerThreshold, 0.5);
  });

  test("TAR@FAR takes the best point within the FAR, and n/a where the impostors cannot resolve it", () => {
    const roc = rocFromScores(genuine, impostor, { fars: [0.1, 0.25, 0.5] });
    assert.deepEqual(roc.tarAtFar[0], { far: 0.1, tar: null, threshold: null, achievedFar: null });
    assert.deepEqual(roc.tarAtFar[1], { far: 0.25, tar: 2 / 3, threshold: 0.8, achievedFar: 0.25 });
    assert.deepEqual(roc.tarAtFar[2], { far: 0.5, tar: 1, threshold: 0.5, achievedFar: 0.5 });
  });

  test("a perfect separator: AUC 1, EER 0, TAR 1 at every resolvable FAR", () => {
    const roc = rocFromScores(torch.tensor([0.9, 0.7]), torch.tensor([0.6, 0.2, 0.1]), { fars: [0.1, 1 / 3] });
    assert.equal(roc.auc, 1);
    assert.equal(roc.eer, 0);
    assert.equal(roc.eerThreshold, 0.699999988079071); // float32 0.7
    assert.equal(roc.tarAtFar[0]!.tar, null);
    assert.equal(roc.tarAtFar[1]!.tar, 1);
  });

  test("all scores tied: the diagonal, AUC 1/2, EER 1/2", () => {
    const roc = rocFromScores(torch.full([5], 0.3), torch.full([7], 0.3));
    assert.equal(roc.auc, 0.5);
    assert.equal(roc.eer, 0.5);
  });

  test("a histogram gives the same ROC at its bin edges", () => {
    // bins of width 0.25 over [-1, 1]; the scores above sit on bin edges or inside bins
    const bins = 8;
    const count = (values: number[]) => {
      const h = new Float64Array(bins);
      for (const v of values) h[Math.min(bins - 1, Math.floor(((v + 1) * bins) / 2))]! += 1;
      return h;
    };
    const g = [0.75, 0.5, 0.25, 0.8];
    const i = [0.5, 0.0, -0.5, 0.1, 0.3];
    const fromHistogram = rocFromHistogram(
      { min: -1, max: 1, genuine: count(g), impostor: count(i) },
      { fars: [0.2, 0.4] },
    );
    // bins [0.75,1): g 0.75 0.8 | [0.5,0.75): g 0.5, i 0.5 | [0.25,0.5): g 0.25, i 0.3 | [0,0.25): i 0.0 0.1 | [-0.5,-0.25): i -0.5
    assert.deepEqual(fromHistogram.curve.threshold, [Infinity, 0.75, 0.5, 0.25, 0, -0.5]);
    assert.deepEqual(fromHistogram.curve.tar, [0, 0.5, 0.75, 1, 1, 1]);
    assert.deepEqual(fromHistogram.curve.far, [0, 0, 0.2, 0.4, 0.8, 1]);
    assert.equal(fromHistogram.tarAtFar[0]!.tar, 0.75);
    assert.equal(fromHistogram.tarAtFar[1]!.tar, 1);
    close(fromHistogram.auc, (0.2 * (0.5 + 0.75) + 0.2 * (0.75 + 1) + 0.6 * 2) / 2, "auc");
  });

  test("NaN scores and empty classes are errors that say what is wrong", () => {
    assert.throws(() => rocFromScores(torch.tensor([NaN, 1]), torch.tensor([0])), /NaN/);
    assert.throws(() => rocFromScores(torch.tensor([1]), torch.zeros([0])), /at least one genuine and one impostor/);
  });

  test("a long curve is thinned log-spaced in FAR and keeps both ends", () => {
    torch.manualSeed(1);
    const roc = rocFromScores(torch.randn([5000]).add(2), torch.randn([20000]), { curvePoints: 100 });
    assert.ok(roc.curve.far.length <= 100 && roc.curve.far.length > 50);
    assert.equal(roc.curve.far[0], 0);
    assert.equal(roc.curve.far.at(-1), 1);
    assert.equal(roc.curve.tar.at(-1), 1);
    for (let j = 1; j < roc.curve.far.length; j++) assert.ok(roc.curve.far[j]! > roc.curve.far[j - 1]!);
  });
});
