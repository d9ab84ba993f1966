// Relation-based distillation: the student matches relations among the batch's samples rather than the samples.
// - RKD distance and angle (Park et al. 2019): pairwise distances divided by their mean over distinct pairs, and the
//   cosines of the angles of every triplet; Huber loss (delta 1) averaged over all N² (N³) entries, degenerate ones
//   included (they are zero on both sides), as the authors' code for which lambda_D = 25 and lambda_A = 50 are quoted.
// - Similarity-preserving KD (Tung & Mori 2019): the batch's Gram matrix with L2-normalized rows;
//   squared Frobenius distance divided by N², for which gamma = 3000 is quoted.
// Each works on the embeddings [N, D] or on a tap's maps flattened to [N, C*H*W]; sizes may differ between models.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { rank } from "./check.js";
import { representation, type Loss, type LossContext } from "./context.js";
import { optionalTap } from "./options.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

function samePairs(loss: string, student: Tensor, teacher: Tensor): void {
  rank(loss, student, 2, "the student's representations");
  rank(loss, teacher, 2, "the teacher's representations");
  if (student.size(0) !== teacher.size(0)) {
    throw new RangeError(`loss '${loss}': ${student.size(0)} student and ${teacher.size(0)} teacher samples`);
  }
}

/** Euclidean distances [N, N] between rows (zero diagonal), divided by the mean over distinct pairs. */
function normalizedDistances(e: Tensor): Tensor {
  const n = e.size(0);
  const squared = e.square().sum(1);
  const d2 = squared.unsqueeze(1).add(squared.unsqueeze(0)).sub(e.mm(e.t()).mul(2));
  // the clamp keeps sqrt's gradient finite; the diagonal is set to an exact zero after it
  const distances = torch.where(torch.eye(n, { dtype: "bool", device: e.device }), 0, d2.clampMin(1e-12).sqrt());
  return distances.div(distances.sum().div(n * (n - 1)));
}

/** RKD distance loss between representations [N, F_s] and [N, F_t] (N >= 2). */
export function rkdDistance(student: Tensor, teacher: Tensor): Tensor {
  samePairs("rkd-distance", student, teacher);
  if (student.size(0) < 2) throw new RangeError("loss 'rkd-distance': needs a batch of at least 2 samples");
  return torch.tidy(() => F.smoothL1Loss(normalizedDistances(student), normalizedDistances(teacher)));
}

/** cos of the angle at j between i and k, for every (j, i, k): [N, N, N]. */
function angles(e: Tensor): Tensor {
  const unit = F.normalize(e.unsqueeze(0).sub(e.unsqueeze(1)), 2, 2); // [j, i] = unit vector from e_j to e_i
  return unit.bmm(unit.transpose(1, 2));
}

/** RKD angle loss between representations [N, F_s] and [N, F_t]. */
export function rkdAngle(student: Tensor, teacher: Tensor): Tensor {
  samePairs("rkd-angle", student, teacher);
  return torch.tidy(() => F.smoothL1Loss(angles(student), angles(teacher)));
}

/** Similarity-preserving KD between representations [N, F_s] and [N, F_t]. */
export function similarityPreserving(student: Tensor, teacher: Tensor): Tensor {
  samePairs("sp", student, teacher);
  const n = student.size(0);
  return torch.tidy(() => {
    const gram = (e: Tensor): Tensor => F.normalize(e.mm(e.t()));
    return gram(student)
      .sub(gram(teacher))
      .square()
      .sum()
      .div(n * n);
  });
}

type Relation = (student: Tensor, teacher: Tensor) => Tensor;

// a relation loss as a Loss on the embeddings or on a tap's maps
function relationLoss(name: string, relation: Relation, tap: string | undefined): Loss {
  return (ctx: LossContext) =>
    torch.tidy(() => relation(representation(ctx, "student", tap, name), representation(ctx, "teacher", tap, name)));
}

export const rkdDistanceLoss = ({ tap }: { tap?: string } = {}): Loss => relationLoss("rkd-distance", rkdDistance, tap);
export const rkdAngleLoss = ({ tap }: { tap?: string } = {}): Loss => relationLoss("rkd-angle", rkdAngle, tap);
export const spLoss = ({ tap }: { tap?: string } = {}): Loss => relationLoss("sp", similarityPreserving, tap);

for (const [name, summary, create] of [
  ["rkd-distance", "RKD distance: Huber loss between mean-normalized pairwise distances", rkdDistanceLoss],
  ["rkd-angle", "RKD angle: Huber loss between the cosines of every triplet's angles", rkdAngleLoss],
  ["sp", "similarity-preserving KD: row-normalized batch Gram matrices, squared distance / N^2", spLoss],
] as const) {
  defineLoss({
    name,
    summary,
    kind: "relation",
    reads: ["embedding", "features"],
    options: z.object({ tap: optionalTap }),
    create,
  });
}
