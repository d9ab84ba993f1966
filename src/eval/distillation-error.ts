// The distillation error of a student f against its teacher g on a labeled sample (the survey's generalization
// view: the student's test error is bounded by its training error, plus this term, plus a complexity term):
//   Phi_gamma,n(f, g) = (1/n) sum_i | phi_gamma(f(x_i), y_i) - phi_gamma(g(x_i), y_i) |,
// phi_gamma(e, y) the softmax probability of the true class y at temperature gamma. Face models have no shared
// classifier, so both embeddings go through the teacher's (as TH-KD does): logits s * cos(e, w_c) / gamma.
// It is 0 when the student reproduces the teacher's confidence in the true class on every sample, 1 at most.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

const F = torch.nn.functional;

export interface DistillationErrorOptions {
  /** The temperatures gamma (1). */
  temperatures?: readonly number[];
  /** The cosine classifier's scale s (64). */
  scale?: number;
}

/** Phi_gamma,n for each gamma, from embeddings [n, D] of both models, the teacher's centres [C, D] and classes [n]. */
export function distillationError(
  student: Tensor,
  teacher: Tensor,
  classifier: Tensor,
  classes: Tensor,
  { temperatures = [1], scale = 64 }: DistillationErrorOptions = {},
): { gamma: number; value: number }[] {
  const size = (t: Tensor) => `[${t.shape.join(", ")}]`;
  if (student.ndim !== 2 || teacher.ndim !== 2 || classifier.ndim !== 2) {
    throw new RangeError(
      `distillationError: expected embeddings [n, D] and a classifier [C, D], got ${size(student)}, ${size(teacher)}, ${size(classifier)}`,
    );
  }
  if (student.size(0) !== teacher.size(0) || classes.ndim !== 1 || classes.size(0) !== student.size(0)) {
    throw new RangeError(
      `distillationError: ${student.size(0)} student and ${teacher.size(0)} teacher embeddings for ${size(classes)} labels`,
    );
  }
  for (const [who, e] of [
    ["student", student],
    ["teacher", teacher],
  ] as const) {
    if (e.size(1) !== classifier.size(1)) {
      throw new RangeError(
        `distillationError: the ${who}'s ${e.size(1)}-d embeddings do not fit the teacher's classifier ${size(classifier)}`,
      );
    }
  }
  if (!(scale > 0) || temperatures.some((g) => !(g > 0))) {
    throw new RangeError(`distillationError: scale and temperatures must be above 0, got ${scale}, ${temperatures}`);
  }
  return torch.noGrad(() =>
    torch.tidy(() => {
      const w = F.normalize(classifier);
      const cosines = (e: Tensor) => F.linear(F.normalize(e), w).clamp(-1, 1).mul(scale);
      const [zs, zt] = [cosines(student), cosines(teacher)];
      const index = classes.unsqueeze(1);
      const truth = (z: Tensor, gamma: number) => F.softmax(z.div(gamma), 1).gather(1, index).squeeze(1);
      return temperatures.map((gamma) => ({
        gamma,
        value: truth(zs, gamma).sub(truth(zt, gamma)).abs().mean().item(),
      }));
    }),
  );
}
