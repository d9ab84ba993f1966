// Probabilistic knowledge transfer (Passalis & Tefas, "Learning Deep Representations with Probabilistic Knowledge
// Transfer", ECCV 2018): each model's batch becomes conditional probabilities over its samples,
//   p_ij = K(x_i, x_j) / sum_k K(x_i, x_k),   K(a, b) = (cos(a, b) + 1) / 2   (the cosine kernel, shifted to [0, 1]),
// and the student matches the teacher's: sum over i, j of p^t_ij log((p^t_ij + eps) / (p^s_ij + eps)), eps = 1e-7.
// As the authors' code (and RepDistiller's, whose weight beta = 30000 is the one quoted for it), the sum over j
// includes j = i and the terms are averaged over all N² entries, not summed: keep that reduction with that weight.
// Feature sizes may differ between the models; it works on the embeddings or on a tap's flattened maps.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { rank } from "./check.js";
import { representation, teacherEmbedding, type Loss } from "./context.js";
import { optionalTap } from "./options.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;
const EPS = 1e-7;

/** The weight RepDistiller uses for PKT (beside cross entropy with weight 1). */
export const PKT_WEIGHT = 30000;

/** Conditional probabilities [N, N] of a batch [N, F] under the shifted cosine kernel. */
function conditionals(e: Tensor): Tensor {
  const unit = F.normalize(e);
  const kernel = unit.mm(unit.t()).add(1).div(2);
  return kernel.div(kernel.sum(1, true));
}

/** PKT between representations [N, F_s] and [N, F_t] of the same samples. */
export function probabilisticTransfer(student: Tensor, teacher: Tensor): Tensor {
  const loss = "pkt";
  rank(loss, student, 2, "the student's representations");
  rank(loss, teacher, 2, "the teacher's representations");
  if (student.size(0) !== teacher.size(0)) {
    throw new RangeError(`loss '${loss}': ${student.size(0)} student and ${teacher.size(0)} teacher samples`);
  }
  return torch.tidy(() => {
    const target = conditionals(teacher);
    return target.mul(target.add(EPS).div(conditionals(student).add(EPS)).log()).mean();
  });
}

/** PKT on the embeddings (the teacher's live or precomputed), or on the flattened maps of a tap. */
export function pktLoss({ tap }: { tap?: string } = {}): Loss {
  const name = "pkt";
  return (ctx) =>
    torch.tidy(() => {
      const student = representation(ctx, "student", tap, name);
      const teacher =
        tap === undefined ? teacherEmbedding(ctx, name, student) : representation(ctx, "teacher", tap, name);
      return probabilisticTransfer(student, teacher);
    });
}

defineLoss({
  name: "pkt",
  summary: "PKT: KL between the batch's cosine-kernel conditional probabilities, mean over N^2 (weight 30000)",
  kind: "relation",
  reads: ["embedding", "features", "precomputed"],
  options: z.object({ tap: optionalTap }),
  create: (o) => pktLoss(o),
});
