// ReFO's two distillation losses, against embeddings precomputed once over the dataset (see store.ts):
// - reverse distillation (step 3): the teacher trains with L_cls + beta1 * L_emb(f_t, f_s'), f_s' the embeddings of a
//   student S' trained by classification alone, which keeps the teacher inside the student's feature space;
// - feature-only distillation (step 5): the student trains with beta2 * L_emb(f_s, f_t) alone, f_t the tailored
//   teacher's embeddings: no labels and no classifier. For MS1MV2's 85,742 identities and 512-d embeddings the class
//   centres alone are 85742 x 512 x 4 B = 176 MB, three times that with their gradient and SGD momentum (527 MB),
//   plus the [batch, 85742] logits: none of it exists in feature-only training.
// Teacher and student embeddings must have the same size. A learned projection between them is deliberately not
// offered: it would absorb the constraint reverse distillation puts on the teacher's own embedding space, and the
// feature-only student must regress the teacher's embedding itself. A mismatch is an error saying which size to use.
import * as torch from "../torch/index.js";
import { output, precomputedRows, type Loss, type Role } from "./context.js";
import {
  checkEmbeddingOptions,
  embeddingDistance,
  embeddingOptions,
  type EmbeddingDistanceOptions,
  type EmbeddingMetric,
} from "./embedding.js";
import type { LossSpec } from "./loss-spec.js";
import { defineLoss } from "./registry.js";
import type { MarginName } from "../models/heads/index.js";

/** The weights of the ReFO paper (supplement, sec. 4 and Table 3), for the reduction of embedding.ts. */
export const REFO_WEIGHTS = {
  /** beta1 of reverse distillation on L2-normalized embeddings. */
  reverseNormalized: 0.5,
  /** beta1 of reverse distillation on un-normalized embeddings. */
  reverseRaw: 0.001,
  /** beta2 of feature-only distillation. */
  featureOnly: 5,
} as const;

// L_emb between the live embedding of `live` and the precomputed rows of the other role
function againstPrecomputed(loss: string, live: Role, options: EmbeddingDistanceOptions): Loss {
  const other: Role = live === "student" ? "teacher" : "student";
  checkEmbeddingOptions(loss, options);
  return (ctx) =>
    torch.tidy(() => {
      const f = output(ctx, live, "embedding", loss);
      const target = precomputedRows(ctx, other, loss, f);
      if (target.size(1) !== f.size(1)) {
        throw new RangeError(
          `loss '${loss}': the ${live}'s embedding has ${f.size(1)} dimensions but the precomputed ${other} ` +
            `embeddings have ${target.size(1)}: build the ${live} with embeddingSize ${target.size(1)} ` +
            "(ReFO compares the two embeddings directly; there is no projection between them)",
        );
      }
      if (target.size(0) !== f.size(0)) {
        throw new RangeError(
          `loss '${loss}': ${target.size(0)} sample indices for a batch of ${f.size(0)} ${live} embeddings`,
        );
      }
      return embeddingDistance(f, target, options);
    });
}

/** Reverse distillation: L_emb(f_t, f_s') with f_s' the precomputed student embeddings at context.indices. */
export function reverseLoss(options: EmbeddingDistanceOptions = {}): Loss {
  return againstPrecomputed("reverse", "teacher", options);
}

/** Feature-only distillation: L_emb(f_s, f_t) with f_t the precomputed teacher embeddings at context.indices. */
export function featureOnlyLoss(options: EmbeddingDistanceOptions = {}): Loss {
  return againstPrecomputed("fo", "student", options);
}

/** ReFO step 3's distillation term: beta1 * L_emb(f_t, f_s'), beta1 by default the paper's for the metric. */
export function reverseTerm({ normalized = true, beta1 }: { normalized?: boolean; beta1?: number } = {}): LossSpec {
  const weight = beta1 ?? (normalized ? REFO_WEIGHTS.reverseNormalized : REFO_WEIGHTS.reverseRaw);
  return { name: "reverse", weight, options: { metric: normalized ? "normalized-l2" : "l2" } };
}

/** ReFO step 5 as loss specs: beta2 * L_emb(f_s, f_t) alone (L2-normalized embeddings, beta2 5 by default). */
export function featureOnlySpecs({
  metric = "normalized-l2",
  beta2 = REFO_WEIGHTS.featureOnly,
}: { metric?: EmbeddingMetric; beta2?: number } = {}): LossSpec[] {
  return [{ name: "fo", weight: beta2, options: { metric } }];
}

export interface ReverseSpecOptions {
  numClasses: number;
  embeddingSize?: number;
  /** Distill L2-normalized embeddings (beta1 0.5) or raw ones (beta1 0.001). Default true. */
  normalized?: boolean;
  beta1?: number;
  margin?: MarginName;
  sampleRate?: number;
}

/** ReFO step 3 as loss specs: the teacher's margin softmax plus beta1 * reverse distillation. */
export function reverseDistillationSpecs({
  numClasses,
  embeddingSize = 512,
  margin = "arcface",
  sampleRate = 1,
  ...reverse
}: ReverseSpecOptions): LossSpec[] {
  return [{ name: margin, options: { model: "teacher", numClasses, embeddingSize, sampleRate } }, reverseTerm(reverse)];
}

defineLoss({
  name: "fo",
  summary: "ReFO feature-only distillation: L_emb(f_s, f_t) against precomputed teacher embeddings (beta2 = 5)",
  kind: "embedding",
  reads: ["embedding", "precomputed"],
  options: embeddingOptions,
  create: (o) => featureOnlyLoss(o),
});
defineLoss({
  name: "reverse",
  summary: "ReFO reverse distillation: L_emb(f_t, f_s') against precomputed student embeddings (beta1 = 0.5)",
  kind: "embedding",
  reads: ["embedding", "precomputed"],
  options: embeddingOptions,
  create: (o) => reverseLoss(o),
});
