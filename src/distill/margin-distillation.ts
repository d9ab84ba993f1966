// MarginDistillation (Svitov & Alyamkin, "MarginDistillation: distillation for margin-based softmax", 2020): the
// student is trained with ArcFace on the teacher's class centres, frozen, and with a margin per sample set by how
// close the teacher puts that sample to its class centre:
//   m_i = m_min + (m_max - m_min) * c_i / max_j c_j,   c_i = cos(f_t,i, w_t,y_i),
//   L = CE(s * [cos(theta_i,y + m_i) for the target, cos(theta_i,c) for the others], y),  theta from the student.
// Samples the teacher embeds near their centre (easy ones) get the large margin, the ones it finds hard a small
// one: the student is asked for the angles the teacher achieves. Defaults are the authors' code's: s = 64,
// m_max = 0.5, m_min = 0.2, max over the batch. Where theta + m_i would pass pi, the target logit becomes
// cos(theta) - m_i sin(m_i) as in arcface_torch (models/heads/margins.ts), and c_i is taken at least 0 so that the
// margins stay in [m_min, m_max] even for a teacher that misplaces a whole batch (the authors' code has neither).
// It is the student's classification loss: use it instead of arcface, with the teacher's frozen classifier
// (`classifiers.teacher`) and embedding (a live teacher, or its precomputed embeddings).
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { cosineLogits } from "../models/heads/index.js";
import { positive, rank } from "./check.js";
import { labels, output, teacherEmbedding, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

export interface MarginDistillationOptions {
  /** Scale of the logits (64). */
  s?: number;
  /** The margins of the teacher's easiest and hardest samples of the batch (0.5, 0.2). */
  mMax?: number;
  mMin?: number;
}

function resolve({ s = 64, mMax = 0.5, mMin = 0.2 }: MarginDistillationOptions): Required<MarginDistillationOptions> {
  const loss = "margin-distillation";
  positive(loss, "s", s);
  if (!(mMin >= 0 && mMax >= mMin && mMax < Math.PI)) {
    throw new RangeError(`loss '${loss}': need 0 <= mMin <= mMax < pi, got mMin=${mMin}, mMax=${mMax}`);
  }
  return { s, mMax, mMin };
}

/** The per-sample margins [N] from teacher embeddings [N, D], its class centres [C, D] and the classes [N]. */
export function teacherMargins(
  teacher: Tensor,
  centres: Tensor,
  classes: Tensor,
  options: MarginDistillationOptions = {},
): Tensor {
  const { mMax, mMin } = resolve(options);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const closeness = cosineLogits(teacher, centres).gather(1, classes.unsqueeze(1)).squeeze(1).clampMin(0);
      return closeness
        .div(closeness.max().clampMin(1e-12))
        .mul(mMax - mMin)
        .add(mMin);
    }),
  );
}

/** MarginDistillation's loss for student embeddings [N, D], the teacher's [N, D] and centres [C, D], classes [N]. */
export function marginDistillation(
  student: Tensor,
  teacher: Tensor,
  centres: Tensor,
  classes: Tensor,
  options: MarginDistillationOptions = {},
): Tensor {
  const loss = "margin-distillation";
  const { s } = resolve(options);
  rank(loss, student, 2, "the student's embedding");
  rank(loss, centres, 2, "the teacher's classifier");
  for (const [who, e] of [
    ["student", student],
    ["teacher", teacher],
  ] as const) {
    if (e.size(1) !== centres.size(1)) {
      throw new RangeError(
        `loss '${loss}': the teacher's classifier [${centres.shape.join(", ")}] takes ${centres.size(1)}-d ` +
          `embeddings but the ${who}'s have ${e.size(1)} dimensions (build the ${who} with embeddingSize ${centres.size(1)})`,
      );
    }
  }
  return torch.tidy(() => {
    const w = centres.detach();
    const margins = teacherMargins(teacher.detach(), w, classes, options).to({ dtype: student.dtype }).unsqueeze(1);
    const cosines = cosineLogits(student, w);
    const index = classes.unsqueeze(1);
    const cosine = cosines.gather(1, index);
    // cos(theta + m) = cos theta cos m - sin theta sin m; the clamp keeps sqrt's gradient finite at |cos| = 1
    const sine = cosine.square().neg().add(1).clampMin(1e-12).sqrt();
    const margined = cosine.mul(margins.cos()).sub(sine.mul(margins.sin()));
    const fallback = cosine.sub(margins.mul(margins.sin()));
    const target = torch.where(cosine.gt(margins.neg().add(Math.PI).cos()), margined, fallback);
    const isTarget = F.oneHot(classes, cosines.size(1)).ne(0);
    return F.crossEntropy(torch.where(isTarget, target, cosines).mul(s), classes);
  });
}

/** MarginDistillation on the student's embedding, the teacher's (live or precomputed), its classifier and labels. */
export function marginDistillationLoss(options: MarginDistillationOptions = {}): Loss {
  const name = "margin-distillation";
  resolve(options);
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "embedding", name);
      return marginDistillation(
        student,
        teacherEmbedding(ctx, name, student),
        output(ctx, "teacher", "classifier", name),
        labels(ctx, name),
        options,
      );
    });
}

defineLoss({
  name: "margin-distillation",
  summary: "MarginDistillation: ArcFace on the teacher's frozen centres, margin per sample from the teacher (0.2-0.5)",
  kind: "logit",
  reads: ["embedding", "labels", "classifier", "precomputed"],
  options: z.object({
    s: z.number().positive().optional().describe("scale (64)"),
    mMax: z.number().optional().describe("the largest margin (0.5)"),
    mMin: z.number().optional().describe("the smallest margin (0.2)"),
  }),
  create: (o) => marginDistillationLoss(o),
});
