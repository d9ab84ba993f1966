// Evaluation-oriented knowledge distillation (Huang, Wu, Xu & Ding, "Evaluation-oriented Knowledge Distillation
// for Deep Face Recognition", CVPR 2022), as its authors' TFace code computes it. Face verification is judged by
// TPR at fixed FPRs, so the student is asked to put each pair of the batch on the same side of the thresholds at
// those FPRs as the teacher does, rather than to copy the teacher's embedding:
// - the batch's pairs (i < j) are split by label into positives and negatives; each model's cosine similarities;
// - for each FPR f in 1e-1 ... 1e-6 (`fars`), each model's threshold is its negatives' similarity of rank
//   floor(n_neg * f) (descending), kept as a moving average: a <- mu * threshold + (1 - mu) * a, mu = 0.01, from 0;
// - a pair's rank is a soft count of the thresholds it passes, R(s) = sum_f sigmoid((s - a_f) / t), t = 0.01;
// - the loss compares the two ranks by squared error, averaged over pairs, on the critical pairs: every positive
//   pair (weight 0.02) and the `topk` = 2000 negatives the student finds most similar (weight 0.01).
// The TFace recipe adds it with weight 1 to the margin softmax (ArcFace, s = 64, m = 0.4) and samples batches half
// at random, half balanced per identity so that positives exist; here batches are what the loader gives, and a
// batch without positive (or negative) pairs contributes 0 for them. The thresholds are buffers of a module adopted
// by the objective, so they are saved with the run.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive, rank } from "./check.js";
import { labels, output, teacherEmbedding, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

export interface EkdOptions {
  /** The FPRs whose thresholds rank the pairs (1e-1 ... 1e-6). */
  fars?: number[];
  /** Temperature t of the sigmoid that softens the threshold count (0.01). */
  temperature?: number;
  /** Moving-average rate mu of the thresholds (0.01). */
  momentum?: number;
  /** Hardest negative pairs kept, by the student's similarity (2000). */
  topk?: number;
  /** Weights of the positive and the negative pairs' terms (0.02, 0.01). */
  positiveWeight?: number;
  negativeWeight?: number;
}

const DEFAULTS: Required<EkdOptions> = {
  fars: [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6],
  temperature: 0.01,
  momentum: 0.01,
  topk: 2000,
  positiveWeight: 0.02,
  negativeWeight: 0.01,
};

function resolve(options: EkdOptions): Required<EkdOptions> {
  const o = { ...DEFAULTS, ...options };
  const loss = "ekd";
  if (!Array.isArray(o.fars) || o.fars.length === 0 || o.fars.some((f) => !(f > 0 && f < 1))) {
    throw new RangeError(`loss '${loss}': fars must be a non-empty list of rates in (0, 1), got ${String(o.fars)}`);
  }
  positive(loss, "temperature", o.temperature);
  if (!(o.momentum >= 0 && o.momentum <= 1)) {
    throw new RangeError(
      `loss '${loss}': momentum must be in [0, 1] (0 keeps the thresholds), got ${String(o.momentum)}`,
    );
  }
  if (!Number.isInteger(o.topk) || o.topk < 1) {
    throw new RangeError(`loss '${loss}': topk must be a positive integer, got ${String(o.topk)}`);
  }
  for (const k of ["positiveWeight", "negativeWeight"] as const) {
    if (!(o[k] >= 0)) throw new RangeError(`loss '${loss}': ${k} must be a number >= 0, got ${String(o[k])}`);
  }
  return o;
}

/** The moving thresholds of both models at each FPR: buffers `student` and `teacher` [fars]. */
export class EkdThresholds extends torch.nn.Module<[], never> {
  readonly student: Tensor;
  readonly teacher: Tensor;

  constructor(readonly fars: readonly number[]) {
    super();
    this.student = this.registerBuffer("student", torch.zeros([fars.length]));
    this.teacher = this.registerBuffer("teacher", torch.zeros([fars.length]));
  }

  forward(): never {
    throw new Error("EkdThresholds has no forward(): the ekd loss reads and updates it");
  }
}

/** Similarities of the pairs i < j [P] of embeddings [N, D], in row-major order of (i, j). */
function pairSimilarities(e: Tensor, upper: Tensor): Tensor {
  const unit = F.normalize(e);
  return unit.mm(unit.t()).maskedSelect(upper);
}

/** R(s) [P, 1] = sum_f sigmoid((s - a_f) / t) for similarities s [P] and thresholds a [fars]. */
function softRank(similarities: Tensor, thresholds: Tensor, t: number): Tensor {
  return similarities.unsqueeze(1).sub(thresholds.unsqueeze(0)).div(t).sigmoid().sum(1, true);
}

/**
 * EKD for student and teacher embeddings [N, D_s], [N, D_t] and classes [N]; updates `thresholds` (one step of
 * their moving average) before using them, as the authors' code does.
 */
export function evaluationOrientedKD(
  student: Tensor,
  teacher: Tensor,
  classes: Tensor,
  thresholds: EkdThresholds,
  options: EkdOptions = {},
): Tensor {
  const o = resolve(options);
  const loss = "ekd";
  rank(loss, student, 2, "the student's embedding");
  rank(loss, teacher, 2, "the teacher's embedding");
  if (student.size(0) !== teacher.size(0) || classes.ndim !== 1 || classes.size(0) !== student.size(0)) {
    throw new RangeError(
      `loss '${loss}': ${student.size(0)} student embeddings, ${teacher.size(0)} teacher embeddings and ` +
        `[${classes.shape.join(", ")}] labels: give one of each per sample`,
    );
  }
  if (thresholds.fars.length !== o.fars.length) {
    throw new RangeError(`loss 'ekd': ${thresholds.fars.length} thresholds for ${o.fars.length} fars`);
  }
  return torch.tidy(() => {
    const n = student.size(0);
    const upper = torch.aten.triu(torch.ones([n, n], { dtype: "bool", device: student.device }), 1);
    const same = classes.unsqueeze(0).eq(classes.unsqueeze(1)).maskedSelect(upper);
    const s = pairSimilarities(student, upper);
    const t = torch.noGrad(() => pairSimilarities(teacher.detach(), upper));
    const [sPositive, tPositive] = [s.maskedSelect(same), t.maskedSelect(same)];
    const [sNegative, tNegative] = [s.maskedSelect(same.logicalNot()), t.maskedSelect(same.logicalNot())];
    const negatives = sNegative.size(0);
    if (negatives > 0) {
      torch.noGrad(() => {
        const ranks = torch.tensor(
          o.fars.map((f) => Math.floor(negatives * f + 1e-9)),
          { dtype: "int64", device: s.device },
        );
        for (const [own, target] of [
          [sNegative, thresholds.student],
          [tNegative, thresholds.teacher],
        ] as const) {
          const current = own.detach().sort(0, true)[0].indexSelect(0, ranks).to({ dtype: target.dtype });
          target.lerp_(current, o.momentum);
        }
      });
    }
    const [a, b] = [thresholds.student.to({ dtype: s.dtype }), thresholds.teacher.to({ dtype: s.dtype })];
    const term = (own: Tensor, target: Tensor): Tensor =>
      own.size(0) === 0 ? own.sum() : F.mseLoss(softRank(own, a, o.temperature), softRank(target, b, o.temperature));
    const hardest = sNegative.detach().topk(Math.min(o.topk, negatives), 0)[1];
    return term(sPositive, tPositive)
      .mul(o.positiveWeight)
      .add(term(sNegative.indexSelect(0, hardest), tNegative.indexSelect(0, hardest)).mul(o.negativeWeight));
  });
}

/** EKD with `thresholds` on the student's embedding, the teacher's (live or precomputed) and the labels. */
export function ekdLoss(thresholds: EkdThresholds, options: EkdOptions = {}): Loss {
  resolve(options);
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "embedding", "ekd");
      return evaluationOrientedKD(
        student,
        teacherEmbedding(ctx, "ekd", student),
        labels(ctx, "ekd"),
        thresholds,
        options,
      );
    });
}

/** The option defaults, for the registry (the thresholds module needs the FPR count before the loss exists). */
export const ekdFars = (options: EkdOptions): readonly number[] => resolve(options).fars;

defineLoss({
  name: "ekd",
  summary: "EKD: the pairs' soft rank among both models' thresholds at FPRs 1e-1..1e-6, positives and hard negatives",
  kind: "relation",
  reads: ["embedding", "labels", "precomputed"],
  options: z.object({
    fars: z.array(z.number()).optional().describe("the FPRs whose thresholds rank the pairs (1e-1 ... 1e-6)"),
    temperature: z.number().optional().describe("the soft rank's temperature t (0.01)"),
    momentum: z.number().optional().describe("the thresholds' moving-average rate mu (0.01)"),
    topk: z.number().int().optional().describe("hardest negatives kept (2000)"),
    positiveWeight: z.number().optional().describe("weight of the positive pairs' term (0.02)"),
    negativeWeight: z.number().optional().describe("weight of the negative pairs' term (0.01)"),
  }),
  create: (o, adopt) => ekdLoss(adopt(new EkdThresholds(ekdFars(o))), o),
});
