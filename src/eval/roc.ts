// ROC analysis of genuine and impostor similarity scores (higher = more alike): the exact operating points at
// every distinct score (or every histogram bin edge), TAR at fixed FARs, EER and AUC. Tied scores move together:
// a threshold accepts all of them or none, so a tie between a genuine and an impostor score is a diagonal ROC
// segment and counts one half in the AUC, as in the Mann-Whitney statistic.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** The FARs that face-recognition papers report (IJB-B/C, MR-all). */
export const STANDARD_FARS: readonly number[] = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];

export interface TarAtFar {
  /** The FAR asked for. */
  far: number;
  /** The highest TAR over thresholds whose FAR is at most `far`; null (n/a) when far * impostors < 1. */
  tar: number | null;
  /** Accept when score >= threshold (Infinity: accept nothing). */
  threshold: number | null;
  /** The exact FAR at that threshold. */
  achievedFar: number | null;
}

/** Operating points for plotting: FAR, TAR and threshold, FAR ascending. */
export interface RocCurve {
  far: number[];
  tar: number[];
  threshold: number[];
}

export interface RocSummary {
  genuineCount: number;
  impostorCount: number;
  auc: number;
  /** Equal error rate, linearly interpolated between the two operating points where FNR - FAR changes sign. */
  eer: number;
  /** The threshold of the first operating point whose FNR is at most its FAR. */
  eerThreshold: number;
  tarAtFar: TarAtFar[];
  curve: RocCurve;
}

/** Genuine and impostor score counts in `genuine.length` equal bins over [min, max] (a bin holds [lo, hi)). */
export interface ScoreHistogram {
  min: number;
  max: number;
  genuine: Float64Array;
  impostor: Float64Array;
}

export interface RocOptions {
  /** FARs at which to report the TAR (default STANDARD_FARS). */
  fars?: readonly number[];
  /** Curves with more operating points than this are thinned to about this many, log-spaced in FAR (default 2000). */
  curvePoints?: number;
}

/**
 * Cumulative counts, highest threshold first: "score >= thresholds[k]" accepts tp[k] genuine and fp[k] impostor
 * scores. float64 tensors; every point is distinct.
 */
interface OperatingPoints {
  thresholds: Tensor;
  tp: Tensor;
  fp: Tensor;
  genuineCount: number;
  impostorCount: number;
}

/** The exact ROC of two score sets (any float dtype, any shape; NaN is an error). */
export function rocFromScores(genuine: Tensor, impostor: Tensor, options: RocOptions = {}): RocSummary {
  return torch.tidy(() => torch.noGrad(() => summarize(pointsFromScores(genuine, impostor), options)));
}

/**
 * The ROC at the lower edges of `bins` equal bins over [min, max], from per-bin genuine and impostor counts:
 * every count is exact; thresholds are limited to the bin edges.
 */
export function rocFromHistogram(histogram: ScoreHistogram, options: RocOptions = {}): RocSummary {
  return torch.tidy(() => torch.noGrad(() => summarize(pointsFromHistogram(histogram), options)));
}

function pointsFromScores(genuine: Tensor, impostor: Tensor): OperatingPoints {
  const g = genuine.flatten().to("float64");
  const i = impostor.flatten().to("float64");
  const genuineCount = g.numel();
  const impostorCount = i.numel();
  requireBoth(genuineCount, impostorCount);
  const scores = torch.cat([g, i]);
  if (scores.isnan().any().item()) throw new Error("roc: the scores contain NaN; check the embeddings for NaN rows");
  const n = scores.numel();
  const isGenuine = torch.cat([
    torch.ones([genuineCount], { dtype: "float64" }),
    torch.zeros([impostorCount], { dtype: "float64" }),
  ]);
  const [sorted, order] = scores.sort(0, true);
  const tp = isGenuine.index([order]).cumsum(0);
  const fp = torch.arange(1, n + 1, 1, { dtype: "float64" }).sub(tp);
  // The last position of each run of equal scores is an operating point.
  const last = torch.cat([
    sorted.narrow(0, 1, n - 1).ne(sorted.narrow(0, 0, n - 1)),
    torch.ones([1], { dtype: "bool" }),
  ]);
  return {
    thresholds: sorted.maskedSelect(last),
    tp: tp.maskedSelect(last),
    fp: fp.maskedSelect(last),
    genuineCount,
    impostorCount,
  };
}

function pointsFromHistogram(h: ScoreHistogram): OperatingPoints {
  const bins = h.genuine.length;
  if (h.impostor.length !== bins || bins === 0 || !(h.max > h.min))
    throw new Error(
      `roc: a histogram needs equal, non-empty genuine and impostor counts over min < max (got ${h.genuine.length} ` +
        `and ${h.impostor.length} bins over [${h.min}, ${h.max}])`,
    );
  const genuine = torch.tensor(h.genuine).flip(0);
  const impostor = torch.tensor(h.impostor).flip(0);
  const width = (h.max - h.min) / bins;
  const lowerEdges = torch
    .arange(bins - 1, -1, -1, { dtype: "float64" })
    .mul(width)
    .add(h.min);
  const occupied = genuine.add(impostor).gt(0);
  const points: OperatingPoints = {
    thresholds: lowerEdges.maskedSelect(occupied),
    tp: genuine.cumsum(0).maskedSelect(occupied),
    fp: impostor.cumsum(0).maskedSelect(occupied),
    genuineCount: genuine.sum().item(),
    impostorCount: impostor.sum().item(),
  };
  requireBoth(points.genuineCount, points.impostorCount);
  return points;
}

function requireBoth(genuineCount: number, impostorCount: number): void {
  if (genuineCount === 0 || impostorCount === 0)
    throw new Error(
      `roc: needs at least one genuine and one impostor score (got ${genuineCount} genuine, ${impostorCount} impostor)`,
    );
}

function summarize(points: OperatingPoints, options: RocOptions): RocSummary {
  const { genuineCount: G, impostorCount: I } = points;
  // Prepend the origin: threshold +inf accepts nothing.
  const zero = torch.zeros([1], { dtype: "float64" });
  const tp = torch.cat([zero, points.tp]);
  const fp = torch.cat([zero, points.fp]);
  const thresholds = torch.cat([torch.full([1], Infinity, { dtype: "float64" }), points.thresholds]);
  const last = tp.numel() - 1;

  const dFp = fp.narrow(0, 1, last).sub(fp.narrow(0, 0, last));
  const tpSum = tp.narrow(0, 1, last).add(tp.narrow(0, 0, last));
  const auc = dFp.mul(tpSum).sum().item() / (2 * G * I);

  const far = fp.div(I);
  const fnr = tp.div(G).neg().add(1);
  const gap = fnr.sub(far);
  const k = gap.le(0).to("int32").argmax().item(); // first point with FNR <= FAR; point 0 has FNR 1 > FAR 0
  const [gapBefore, gapAt] = gap.narrow(0, k - 1, 2).toNumbers() as [number, number];
  const [farBefore, farAt] = far.narrow(0, k - 1, 2).toNumbers() as [number, number];
  const eer = farBefore + ((farAt - farBefore) * gapBefore) / (gapBefore - gapAt);

  const fars = options.fars ?? STANDARD_FARS;
  const resolvable = fars.filter((f) => f * I >= 1);
  const atFar = pick(
    tp,
    fp,
    thresholds,
    resolvable.map((f) => maxFalseAccepts(f, I)),
  );
  const tarAtFar = fars.map((f): TarAtFar => {
    const j = resolvable.indexOf(f);
    if (j < 0) return { far: f, tar: null, threshold: null, achievedFar: null };
    return { far: f, tar: atFar.tp[j]! / G, threshold: atFar.threshold[j]!, achievedFar: atFar.fp[j]! / I };
  });

  return {
    genuineCount: G,
    impostorCount: I,
    auc,
    eer,
    eerThreshold: thresholds.narrow(0, k, 1).item(),
    tarAtFar,
    curve: curveOf(tp, fp, thresholds, G, I, options.curvePoints ?? 2000),
  };
}

// The number of false accepts that FAR `far` allows among `impostors` (the tolerance absorbs float error in
// products such as 1e-4 * 1e6).
function maxFalseAccepts(far: number, impostors: number): number {
  return Math.floor(far * impostors * (1 + 1e-9));
}

// For each false-accept budget, the last (highest-TAR) operating point whose fp is within it.
function pick(tp: Tensor, fp: Tensor, thresholds: Tensor, budgets: number[]) {
  if (budgets.length === 0) return { tp: [], fp: [], threshold: [] };
  const index = torch.aten.searchsorted_Tensor(fp, torch.tensor(budgets, { dtype: "float64" }), false, true).sub(1);
  return {
    tp: tp.index([index]).toNumbers(),
    fp: fp.index([index]).toNumbers(),
    threshold: thresholds.index([index]).toNumbers(),
  };
}

function curveOf(tp: Tensor, fp: Tensor, thresholds: Tensor, G: number, I: number, maxPoints: number): RocCurve {
  let points: { tp: number[]; fp: number[]; threshold: number[] };
  if (tp.numel() <= maxPoints) {
    points = { tp: tp.toNumbers(), fp: fp.toNumbers(), threshold: thresholds.toNumbers() };
  } else {
    // Log-spaced false-accept budgets from 1 to I; duplicates collapse.
    const steps = Math.max(2, maxPoints - 1);
    const budgets = new Set<number>([0]);
    for (let s = 0; s < steps; s++) budgets.add(Math.floor(I ** (s / (steps - 1))));
    const picked = pick(
      tp,
      fp,
      thresholds,
      [...budgets].sort((a, b) => a - b),
    );
    const distinct = picked.fp.map((_, j) => j).filter((j) => j === 0 || picked.fp[j] !== picked.fp[j - 1]);
    points = {
      tp: distinct.map((j) => picked.tp[j]!),
      fp: distinct.map((j) => picked.fp[j]!),
      threshold: distinct.map((j) => picked.threshold[j]!),
    };
  }
  return { far: points.fp.map((v) => v / I), tar: points.tp.map((v) => v / G), threshold: points.threshold };
}
