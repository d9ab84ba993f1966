// Decoupled knowledge distillation (Zhao et al., "Decoupled Knowledge Distillation", CVPR 2022): Hinton's KD split
// into the target class's share and the distribution over the other classes, weighted separately:
//   DKD = (alpha * TCKD + beta * NCKD) * T^2,
//   TCKD = KL(b^t || b^s),  b = [p_y, 1 - p_y]          (binary: the target class against all the others),
//   NCKD = KL(p̂^t || p̂^s),  p̂_c = p_c / (1 - p_y), c != y (the softmax over the non-target classes only),
// with p = softmax(z / T); KL summed over classes, averaged over the batch (as kd in response.ts).
// Defaults are the paper's CIFAR-100 setting: alpha = 1, beta = 8, T = 4 (its ImageNet setting is beta = 0.5,
// T = 1). The paper ramps the loss up linearly over the first 20 epochs; a loss here does not know the step, so
// there is no warm-up: use a schedule with warm-up, or a smaller weight, if the first steps diverge.
// For face models the logits are a cosine classifier's s * cos(f, w_c) (the teacher's frozen head on both
// embeddings, or each model's own head; see train/classifiers.ts).
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive, rank, sameShape } from "./check.js";
import { labels, output, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

export interface DecoupledKDOptions {
  /** Weight of the target-class term TCKD (1). */
  alpha?: number;
  /** Weight of the non-target term NCKD (8). */
  beta?: number;
  temperature?: number;
}

function checkOptions({ alpha = 1, beta = 8, temperature = 4 }: DecoupledKDOptions): Required<DecoupledKDOptions> {
  const loss = "dkd";
  for (const [name, value] of Object.entries({ alpha, beta })) {
    if (typeof value !== "number" || !(value >= 0)) {
      throw new RangeError(`loss '${loss}': ${name} must be a number >= 0, got ${String(value)}`);
    }
  }
  return { alpha, beta, temperature: positive(loss, "temperature", temperature) };
}

/** DKD for student and teacher logits [N, C] and the true classes [N] (int64). */
export function decoupledKD(
  studentLogits: Tensor,
  teacherLogits: Tensor,
  classes: Tensor,
  options: DecoupledKDOptions = {},
): Tensor {
  const { alpha, beta, temperature: T } = checkOptions(options);
  rank("dkd", studentLogits, 2, "the logits");
  sameShape("dkd", studentLogits, teacherLogits, ["the student's logits", "the teacher's"]);
  if (studentLogits.size(1) < 2) throw new RangeError("loss 'dkd': needs logits over at least 2 classes");
  return torch.tidy(() => {
    const isTarget = F.oneHot(classes, studentLogits.size(1)).ne(0);
    // log [p_y, 1 - p_y] from the log-softmax: logsumexp over the target column and over the others
    const binary = (z: Tensor): Tensor => {
      const log = F.logSoftmax(z.div(T), 1);
      const inTarget = log.maskedFill(isTarget.logicalNot(), -Infinity).logsumexp(1, true);
      const outside = log.maskedFill(isTarget, -Infinity).logsumexp(1, true);
      return torch.cat([inTarget, outside], 1);
    };
    // log p̂: the softmax with the target column removed (-inf there, then 0 so that it adds nothing)
    const others = (z: Tensor): Tensor =>
      F.logSoftmax(z.div(T).maskedFill(isTarget, -Infinity), 1).maskedFill(isTarget, 0);
    const [logStudent, logTeacher] = [others(studentLogits), others(teacherLogits)];
    const nckd = logTeacher.exp().maskedFill(isTarget, 0).mul(logTeacher.sub(logStudent)).sum(1).mean();
    const tckd = F.klDiv(binary(studentLogits), binary(teacherLogits).exp(), "batchmean");
    return tckd
      .mul(alpha)
      .add(nckd.mul(beta))
      .mul(T * T);
  });
}

/** DKD on context.student.logits, context.teacher.logits and the labels. */
export function dkdLoss(options: DecoupledKDOptions = {}): Loss {
  checkOptions(options);
  return (ctx) =>
    decoupledKD(
      output(ctx, "student", "logits", "dkd"),
      output(ctx, "teacher", "logits", "dkd"),
      labels(ctx, "dkd"),
      options,
    );
}

defineLoss({
  name: "dkd",
  summary: "DKD: alpha * TCKD + beta * NCKD at temperature T, times T^2 (alpha 1, beta 8, T 4)",
  kind: "logit",
  reads: ["logits", "labels"],
  options: z.object({
    alpha: z.number().optional().describe("the target-class term's weight (1)"),
    beta: z.number().optional().describe("the non-target term's weight (8)"),
    temperature: z.number().optional().describe("T (4)"),
  }),
  create: (o) => dkdLoss(o),
});
