import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { pairsOfList, pairsOfPack, verifyPairs } from "../../src/eval/pairs.js";
import { combineFlip } from "../../src/eval/embeddings.js";

const close = (actual: number, expected: number, what: string, tol = 1e-12) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} != ${expected}`);

// 1-d pair embeddings [0] and [sqrt(d)]: squared L2 distance d (to float32 rounding).
function pairsAtDistances(distances: number[]) {
  const n = distances.length;
  return {
    left: torch.zeros([n, 1]),
    right: torch.tensor(distances.map(Math.sqrt), { shape: [n, 1] }),
  };
}

describe("the insightface pair protocol", () => {
  test("two folds worked by hand", () => {
    // fold 0: 0.205 same, 0.9055 different, 0.405 same; fold 1: 0.305 same, 1.2055 different, 0.6055 different
    const { left, right } = pairsAtDistances([0.205, 0.9055, 0.405, 0.305, 1.2055, 0.6055]);
    const r = verifyPairs(left, right, [true, false, true, true, false, false], { folds: 2 });
    // Fold 0 is tested with the first threshold that separates fold 1 (0.305 | 0.6055): 0.31, which gets 0.205
    // and 0.9055 right and 0.405 wrong; fold 1 with fold 0's first separating threshold 0.41: all right.
    assert.deepEqual(r.foldThresholds, [31 * 0.01, 41 * 0.01]); // np.arange's values
    close(r.foldAccuracies[0]!, 2 / 3, "fold 0");
    close(r.foldAccuracies[1]!, 1, "fold 1");
    close(r.accuracy, 5 / 6, "accuracy");
    close(r.accuracyStd, 1 / 6, "std");
    // VAL@FAR=1e-3. Fold 0: training FAR is 0 up to threshold 0.605 and 1/2 from 0.606, so the threshold is
    // 0.605 + 0.001 * (0.001 / 0.5); both same pairs of fold 0 fall below it, its different pair does not.
    // Fold 1: training FAR jumps from 0 (0.905) to 1 (0.906): threshold 0.905 + 0.001 * 0.001; VAL 1, FAR 1/2.
    close(r.val, 1, "val");
    close(r.valStd, 0, "val std");
    close(r.valFar, 0.25, "far");
    assert.equal(r.pairs, 6);
    assert.equal(r.genuinePairs, 3);
    close(r.roc.auc, 1, "auc"); // every same pair is closer than every different pair
    close(r.roc.tarAtFar.find((t) => t.far === 0.1)!.tar ?? -1, -1, "n/a with 3 impostors");
  });

  test("ten unshuffled folds on 605 synthetic pairs match a literal transcription of verification.py", () => {
    let seed = 12345;
    const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const n = 605; // folds of 61 x 5 and 60 x 5
    const issame = Array.from({ length: n }, () => uniform() < 0.5);
    // 2-d unit vectors at angle theta: squared distance 2 - 2 cos(theta) in [0, 4]
    const theta = issame.map((s) => (s ? 0.3 + 0.9 * uniform() : 0.9 + 1.5 * uniform()));
    const left = new Float32Array(2 * n);
    const right = new Float32Array(2 * n);
    theta.forEach((t, i) => {
      left[2 * i] = 1;
      right[2 * i] = Math.cos(t);
      right[2 * i + 1] = Math.sin(t);
    });
    // the engine's float32 distance: (a - b)^2 summed over two coordinates
    const f = Math.fround;
    const dist = theta.map((_, i) => {
      const dx = f(left[2 * i]! - right[2 * i]!);
      const dy = f(left[2 * i + 1]! - right[2 * i + 1]!);
      return f(f(dx * dx) + f(dy * dy));
    });
    const r = verifyPairs(torch.tensor(left, { shape: [n, 2] }), torch.tensor(right, { shape: [n, 2] }), issame);
    const ref = referenceProtocol(dist, issame, 10);
    assert.deepEqual(r.foldThresholds, ref.bestThresholds);
    r.foldAccuracies.forEach((a, i) => close(a, ref.accuracy[i]!, `fold ${i} accuracy`));
    close(r.accuracy, mean(ref.accuracy), "accuracy");
    close(r.accuracyStd, std(ref.accuracy), "accuracy std");
    close(r.val, mean(ref.val), "val");
    close(r.valStd, std(ref.val), "val std");
    close(r.valFar, mean(ref.far), "far");
    ref.tpr.forEach((v, t) => close(r.foldRoc.tpr[t]!, v, `tpr at ${t}`, 1e-12));
    ref.fpr.forEach((v, t) => close(r.foldRoc.fpr[t]!, v, `fpr at ${t}`, 1e-12));
    assert.ok(r.accuracy > 0.7 && r.accuracy < 1, `a non-trivial accuracy: ${r.accuracy}`);
  });

  test("pack and list pairing, and the flip-sum helper", () => {
    const e = torch.tensor([
      [1, 0],
      [0, 1],
      [2, 0],
      [0, 3],
    ]);
    const pack = pairsOfPack(e);
    assert.deepEqual(pack.left.toNumbers(), [1, 0, 2, 0]);
    assert.deepEqual(pack.right.toNumbers(), [0, 1, 0, 3]);
    const list = pairsOfList(e, [3, 0], [1, 2]);
    assert.deepEqual(list.left.toNumbers(), [0, 3, 1, 0]);
    assert.deepEqual(list.right.toNumbers(), [0, 1, 2, 0]);
    const combined = combineFlip(torch.tensor([[3, 0]]), torch.tensor([[0, 4]]));
    assert.deepEqual(combined.toNumbers(), [0.6000000238418579, 0.800000011920929]);
    assert.deepEqual(combineFlip(torch.tensor([[3, 0]]), torch.tensor([[0, 4]]), false).toNumbers(), [3, 4]);
    assert.throws(() => pairsOfPack(torch.zeros([3, 2])), /2N, D/);
    assert.throws(() => verifyPairs(pack.left, pack.right, [true]), /2 pairs but 1 issame/);
  });
});

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const std = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / v.length);

// recognition/arcface_torch/eval/verification.py, line by line: calculate_roc and calculate_val with sklearn's
// KFold(shuffle=False), np.argmax, and scipy's interp1d(kind="slinear") evaluated as its degree-1 B-spline.
function referenceProtocol(dist: number[], issame: boolean[], folds: number) {
  const n = dist.length;
  const foldSizes = Array.from({ length: folds }, (_, f) => Math.floor(n / folds) + (f < n % folds ? 1 : 0));
  const testSets: number[][] = [];
  let start = 0;
  for (const size of foldSizes) {
    testSets.push(Array.from({ length: size }, (_, i) => start + i));
    start += size;
  }
  const less = (d: number, t: number) => d < Math.fround(t); // float32 array vs float64 scalar in numpy 1.x
  const calculateAccuracy = (t: number, set: number[]) => {
    let tp = 0,
      fp = 0,
      tn = 0,
      fn = 0;
    for (const i of set) {
      const p = less(dist[i]!, t);
      if (p && issame[i]) tp++;
      else if (p) fp++;
      else if (issame[i]) fn++;
      else tn++;
    }
    return {
      tpr: tp + fn === 0 ? 0 : tp / (tp + fn),
      fpr: fp + tn === 0 ? 0 : fp / (fp + tn),
      acc: (tp + tn) / set.length,
    };
  };
  const calculateValFar = (t: number, set: number[]) => {
    let ta = 0,
      fa = 0,
      same = 0,
      diff = 0;
    for (const i of set) {
      if (issame[i]) same++;
      else diff++;
      if (less(dist[i]!, t) && issame[i]) ta++;
      if (less(dist[i]!, t) && !issame[i]) fa++;
    }
    return { val: ta / same, far: fa / diff };
  };
  const thresholds = Array.from({ length: 400 }, (_, i) => i * 0.01);
  const valThresholds = Array.from({ length: 4000 }, (_, i) => i * 0.001);
  const accuracy: number[] = [],
    bestThresholds: number[] = [],
    val: number[] = [],
    far: number[] = [];
  const tprs: number[][] = [],
    fprs: number[][] = [];
  for (const test of testSets) {
    const train = Array.from({ length: n }, (_, i) => i).filter((i) => !test.includes(i));
    const accTrain = thresholds.map((t) => calculateAccuracy(t, train).acc);
    const best = accTrain.indexOf(Math.max(...accTrain));
    tprs.push(thresholds.map((t) => calculateAccuracy(t, test).tpr));
    fprs.push(thresholds.map((t) => calculateAccuracy(t, test).fpr));
    accuracy.push(calculateAccuracy(thresholds[best]!, test).acc);
    bestThresholds.push(thresholds[best]!);
    const farTrain = valThresholds.map((t) => calculateValFar(t, train).far);
    const threshold = Math.max(...farTrain) >= 1e-3 ? slinear(farTrain, valThresholds, 1e-3) : 0;
    const vf = calculateValFar(threshold, test);
    val.push(vf.val);
    far.push(vf.far);
  }
  const column = (rows: number[][], t: number) => mean(rows.map((r) => r[t]!));
  return {
    accuracy,
    bestThresholds,
    val,
    far,
    tpr: thresholds.map((_, t) => column(tprs, t)),
    fpr: thresholds.map((_, t) => column(fprs, t)),
  };
}

// interp1d(x, y, kind="slinear")(u): a stable sort by x, knots [x0, x..., xlast], coefficients y, degree 1,
// scipy's find_interval and de Boor's recursion for k = 1.
function slinear(x: number[], y: number[], u: number): number {
  const order = x.map((_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b);
  const xs = order.map((i) => x[i]!);
  const ys = order.map((i) => y[i]!);
  const knots = [xs[0]!, ...xs, xs.at(-1)!];
  const last = knots.length - 2; // n = len(t) - k - 1
  let l = 2;
  while (u >= knots[l]! && l !== last) l++;
  l -= 1;
  const h0 = (knots[l + 1]! - u) / (knots[l + 1]! - knots[l]!);
  const h1 = (u - knots[l]!) / (knots[l + 1]! - knots[l]!);
  return ys[l - 1]! * h0 + ys[l]! * h1;
}
