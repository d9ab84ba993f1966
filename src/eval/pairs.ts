// The insightface pair-verification protocol (LFW, CFP-FP, AgeDB-30 ... packs and pair lists), as
// recognition/arcface_torch/eval/verification.py computes it: squared L2 distance between the (flip-summed,
// normalized) embeddings of a pair; accuracy over thresholds 0, 0.01 .. 3.99 with 10 unshuffled folds, the best
// threshold on 9 folds applied to the 10th; VAL@FAR=1e-3 over thresholds 0, 0.001 .. 3.999, the threshold for the
// target FAR interpolated linearly on the 9 training folds. Distances are float32 and compared with thresholds
// rounded to float32, as numpy 1.x compares a float32 array with a float64 scalar.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { kFoldRanges, type FoldRange } from "./folds.js";
import { flagTensor, indexTensor } from "./inputs.js";
import { rocFromScores, type RocOptions, type RocSummary } from "./roc.js";

const ACCURACY_THRESHOLDS = { count: 400, step: 0.01 }; // np.arange(0, 4, 0.01)
const VAL_THRESHOLDS = { count: 4000, step: 0.001 }; // np.arange(0, 4, 0.001)

export interface PairProtocolOptions extends RocOptions {
  /** Number of unshuffled folds (default 10). */
  folds?: number;
  /** The FAR of insightface's VAL@FAR (default 1e-3). */
  valFar?: number;
}

export interface PairProtocolResult {
  pairs: number;
  genuinePairs: number;
  impostorPairs: number;
  /** Mean test-fold accuracy and its population standard deviation (np.std), as insightface prints them. */
  accuracy: number;
  accuracyStd: number;
  foldAccuracies: number[];
  /** The best training-fold threshold (squared L2) used on each test fold. */
  foldThresholds: number[];
  /** insightface's VAL@FAR: mean and std of the test-fold TAR at the interpolated thresholds, and the mean FAR. */
  val: number;
  valStd: number;
  valFar: number;
  valFarTarget: number;
  /** The exact ROC over all pairs, with score = -(squared L2 distance): thresholds are negated distances. */
  roc: RocSummary;
  /** insightface's ROC: TPR and FPR per accuracy threshold, averaged over the test folds. */
  foldRoc: { thresholds: number[]; tpr: number[]; fpr: number[] };
}

/** The pairs of a verification pack: embedding rows 2i and 2i+1 form pair i. */
export function pairsOfPack(embeddings: Tensor): { left: Tensor; right: Tensor } {
  const n = embeddings.shape[0] ?? 0;
  if (embeddings.ndim !== 2 || n % 2 !== 0)
    throw new Error(`pairsOfPack: expected [2N, D] embeddings (pair i = rows 2i, 2i+1), got [${embeddings.shape}]`);
  return torch.tidy(() => {
    const rows = embeddings.reshape([n / 2, 2, -1]);
    return { left: rows.select(1, 0).contiguous(), right: rows.select(1, 1).contiguous() };
  });
}

/** The pairs of a pair list: rows first[i] and second[i] form pair i. */
export function pairsOfList(
  embeddings: Tensor,
  first: Tensor | ArrayLike<number>,
  second: Tensor | ArrayLike<number>,
): { left: Tensor; right: Tensor } {
  return torch.tidy(() => ({
    left: embeddings.indexSelect(0, indexTensor(first, "pairsOfList: first")),
    right: embeddings.indexSelect(0, indexTensor(second, "pairsOfList: second")),
  }));
}

/** Runs the insightface protocol on pair embeddings `left[i]`, `right[i]` with labels `issame[i]`. */
export function verifyPairs(
  left: Tensor,
  right: Tensor,
  issame: Tensor | ArrayLike<number | boolean>,
  options: PairProtocolOptions = {},
): PairProtocolResult {
  return torch.tidy(() =>
    torch.noGrad(() => {
      if (left.ndim !== 2 || left.shape.join() !== right.shape.join())
        throw new Error(
          `verifyPairs: expected two [N, D] tensors of one shape, got [${left.shape}] and [${right.shape}]`,
        );
      const n = left.shape[0]!;
      const same = flagTensor(issame, "verifyPairs: issame");
      if (same.numel() !== n) throw new Error(`verifyPairs: ${n} pairs but ${same.numel()} issame labels`);
      const ranges = kFoldRanges(n, options.folds ?? 10);
      const distance = left.to("float32").sub(right.to("float32")).square().sum(1);
      const accuracy = accuracyProtocol(distance, same, ranges);
      const val = valProtocol(distance, same, ranges, options.valFar ?? 1e-3);
      const genuine = distance.maskedSelect(same);
      const impostor = distance.maskedSelect(same.logicalNot());
      return {
        pairs: n,
        genuinePairs: genuine.numel(),
        impostorPairs: impostor.numel(),
        ...accuracy,
        ...val,
        roc: rocFromScores(genuine.neg(), impostor.neg(), options),
      };
    }),
  );
}

/** Per fold, class (0 different, 1 same) and threshold t: the pairs with distance < thresholds[t]. */
interface CountsBelow {
  at(fold: number, same: 0 | 1, t: number): number;
  /** The fold's pairs of that class. */
  total(fold: number, same: 0 | 1): number;
  /** Summed over all folds. */
  all(same: 0 | 1, t: number): number;
  allTotal(same: 0 | 1): number;
}

function thresholdValues(spec: { count: number; step: number }): number[] {
  return Array.from({ length: spec.count }, (_, i) => i * spec.step);
}

function countsBelow(distance: Tensor, same: Tensor, ranges: FoldRange[], thresholds: number[]): CountsBelow {
  const T = thresholds.length;
  const F = ranges.length;
  const data = torch.tidy(() => {
    const sorted = torch.tensor(thresholds, { dtype: "float64" }).to("float32");
    const starts = torch.tensor(
      ranges.map((r) => r.start),
      { dtype: "int64" },
    );
    const fold = torch.aten.bucketize_Tensor(torch.arange(distance.numel()), starts, false, true).sub(1);
    // A pair is accepted from threshold index `first` on: first = #thresholds <= distance.
    const first = torch.aten.searchsorted_Tensor(sorted, distance, false, true);
    const key = fold
      .mul(2)
      .add(same.to("int64"))
      .mul(T + 1)
      .add(first);
    return torch.aten
      .bincount(key, null, F * 2 * (T + 1))
      .reshape([F, 2, T + 1])
      .cumsum(2)
      .to("float64")
      .data();
  }) as Float64Array;
  const at = (f: number, c: 0 | 1, t: number) => data[(f * 2 + c) * (T + 1) + t]!;
  const sums = [0, 1].map((c) =>
    Array.from({ length: T + 1 }, (_, t) => ranges.reduce((s, _r, f) => s + at(f, c as 0 | 1, t), 0)),
  );
  return {
    at,
    total: (f, c) => at(f, c, T),
    all: (c, t) => sums[c]![t]!,
    allTotal: (c) => sums[c]![T]!,
  };
}

function accuracyProtocol(distance: Tensor, same: Tensor, ranges: FoldRange[]) {
  const thresholds = thresholdValues(ACCURACY_THRESHOLDS);
  const below = countsBelow(distance, same, ranges, thresholds);
  const n = distance.numel();
  const foldAccuracies: number[] = [];
  const foldThresholds: number[] = [];
  const tprSum = new Array<number>(thresholds.length).fill(0);
  const fprSum = new Array<number>(thresholds.length).fill(0);
  ranges.forEach((range, f) => {
    const trainSize = n - range.size;
    const trainDifferent = below.allTotal(0) - below.total(f, 0);
    let best = 0;
    let bestAccuracy = -Infinity;
    thresholds.forEach((_, t) => {
      const tp = below.all(1, t) - below.at(f, 1, t);
      const tn = trainDifferent - (below.all(0, t) - below.at(f, 0, t));
      const accuracy = (tp + tn) / trainSize;
      if (accuracy > bestAccuracy) [best, bestAccuracy] = [t, accuracy]; // np.argmax: the first maximum
    });
    const [positives, negatives] = [below.total(f, 1), below.total(f, 0)];
    thresholds.forEach((_, t) => {
      tprSum[t]! += positives === 0 ? 0 : below.at(f, 1, t) / positives;
      fprSum[t]! += negatives === 0 ? 0 : below.at(f, 0, t) / negatives;
    });
    const tn = negatives - below.at(f, 0, best);
    foldAccuracies.push((below.at(f, 1, best) + tn) / range.size);
    foldThresholds.push(thresholds[best]!);
  });
  const [accuracy, accuracyStd] = meanAndStd(foldAccuracies);
  return {
    accuracy,
    accuracyStd,
    foldAccuracies,
    foldThresholds,
    foldRoc: { thresholds, tpr: tprSum.map((v) => v / ranges.length), fpr: fprSum.map((v) => v / ranges.length) },
  };
}

function valProtocol(distance: Tensor, same: Tensor, ranges: FoldRange[], target: number) {
  const thresholds = thresholdValues(VAL_THRESHOLDS);
  const below = countsBelow(distance, same, ranges, thresholds);
  const vals: number[] = [];
  const fars: number[] = [];
  ranges.forEach((range, f) => {
    const trainDifferent = below.allTotal(0) - below.total(f, 0);
    if (trainDifferent === 0 || below.total(f, 1) === 0 || below.total(f, 0) === 0)
      throw new Error(
        `verifyPairs: fold ${f} (pairs ${range.start}..${range.start + range.size - 1}) or its training folds lack ` +
          "same or different pairs, so VAL@FAR is undefined; use fewer folds or a mixed pair order",
      );
    const farTrain = thresholds.map((_, t) => (below.all(0, t) - below.at(f, 0, t)) / trainDifferent);
    const threshold = farTrain[farTrain.length - 1]! >= target ? interpolateSlinear(farTrain, thresholds, target) : 0;
    const [acceptedSame, acceptedDifferent] = torch.tidy(() => {
      const accepted = distance.narrow(0, range.start, range.size).lt(threshold);
      const sameFold = same.narrow(0, range.start, range.size);
      return [
        torch.aten.logical_and(accepted, sameFold).sum().item(),
        torch.aten.logical_and(accepted, sameFold.logicalNot()).sum().item(),
      ];
    });
    vals.push(acceptedSame / below.total(f, 1));
    fars.push(acceptedDifferent / below.total(f, 0));
  });
  const [val, valStd] = meanAndStd(vals);
  return { val, valStd, valFar: meanAndStd(fars)[0], valFarTarget: target };
}

/**
 * scipy's interp1d(x, y, kind="slinear")(u) for non-decreasing x with repeats and x[0] <= u <= x[last]: the linear
 * B-spline through the points, which interpolates between the last point with x <= u and the next one.
 */
function interpolateSlinear(x: number[], y: number[], u: number): number {
  let j = x.length - 1;
  while (j > 0 && x[j]! > u) j--;
  if (j === x.length - 1) return y[j]!;
  const [x0, x1, y0, y1] = [x[j]!, x[j + 1]!, y[j]!, y[j + 1]!];
  return (y0 * (x1 - u)) / (x1 - x0) + (y1 * (u - x0)) / (x1 - x0);
}

/** Mean and population standard deviation (np.mean, np.std). */
function meanAndStd(values: number[]): [number, number] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return [mean, Math.sqrt(variance)];
}
