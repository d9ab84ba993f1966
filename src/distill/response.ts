// Response-based distillation (Hinton et al. 2015): the student matches the teacher's softened class probabilities.
// KL is summed over classes and averaged over the batch (the true KL per sample); the T^2 factor keeps the gradient's
// magnitude independent of the temperature, so the weight of the term need not change with T.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive, rank, sameShape } from "./check.js";
import { labels, output, type Loss } from "./context.js";
import { temperature } from "./options.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

/** KL(softmax(z_t / T) || softmax(z_s / T)) * T^2 for logits [N, C]. */
export function hintonKD(studentLogits: Tensor, teacherLogits: Tensor, temperature = 4): Tensor {
  const loss = "kd";
  const T = positive(loss, "temperature", temperature);
  rank(loss, studentLogits, 2, "the logits");
  sameShape(loss, studentLogits, teacherLogits, ["the student's logits", "the teacher's"]);
  return torch.tidy(() =>
    F.klDiv(F.logSoftmax(studentLogits.div(T), 1), F.softmax(teacherLogits.div(T), 1), "batchmean").mul(T * T),
  );
}

/** Hinton KD on context.student.logits and context.teacher.logits. */
export function kdLoss({ temperature = 4 }: { temperature?: number } = {}): Loss {
  positive("kd", "temperature", temperature);
  return (ctx) => hintonKD(output(ctx, "student", "logits", "kd"), output(ctx, "teacher", "logits", "kd"), temperature);
}

/** lambda * KD + (1 - lambda) * CE(z_s, y): Hinton's mix of soft and hard targets (lambda 0.9, T 4 by default). */
export function kdMixedLoss({ temperature = 4, lambda = 0.9 }: { temperature?: number; lambda?: number } = {}): Loss {
  const name = "kd-ce";
  positive(name, "temperature", temperature);
  if (typeof lambda !== "number" || !(lambda >= 0 && lambda <= 1)) {
    throw new RangeError(`loss '${name}': lambda must be a number in [0, 1], got ${String(lambda)}`);
  }
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "logits", name);
      const kd = hintonKD(student, output(ctx, "teacher", "logits", name), temperature);
      return kd.mul(lambda).add(F.crossEntropy(student, labels(ctx, name)).mul(1 - lambda));
    });
}

defineLoss({
  name: "kd",
  summary: "Hinton KD: KL(softmax(z_t/T) || softmax(z_s/T)) * T^2",
  kind: "logit",
  reads: ["logits"],
  options: z.object({ temperature }),
  create: (o) => kdLoss(o),
});
defineLoss({
  name: "kd-ce",
  summary: "lambda * KD + (1 - lambda) * CE(z_s, y)",
  kind: "logit",
  reads: ["logits", "labels"],
  options: z.object({
    temperature,
    lambda: z.number().min(0).max(1).default(0.9).describe("the weight of KD against cross entropy"),
  }),
  create: (o) => kdMixedLoss(o),
});
