// Embedding distillation L_emb(f_s, f_t): a distance between two models' embeddings of the same images.
//
// Reduction convention (every metric): per sample, SUM over the D embedding dimensions; MEAN over the batch.
// This is the reading under which ReFO's published weights are sensible for 512-d embeddings:
// - L2-normalized, ||f̂_s - f̂_t||² = 2 - 2 cos lies in [0, 4]. beta1 = 0.5 then gives reverse distillation a term of at
//   most 2, small next to the margin softmax's cross entropy (tens at the start with s = 64, a few units at the end),
//   as the supplement wants ("kept small to let the teacher focus on the main task"); beta2 = 5 gives feature-only
//   distillation a loss of a few units, like a classification loss. A mean over dimensions would divide both by 512
//   (0.5 x 4 / 512 < 0.004: no effect on training); a sum over the batch would tie the weights to the batch size.
// - Un-normalized, arcface_torch embeddings leave a BatchNorm1d (weight fixed at 1), so each dimension has about unit
//   variance and ||f||² ~ D; the squared distance between two models' embeddings is O(D), up to ~2D = 1024. beta1 =
//   0.001 then gives a term below ~1, the magnitude of the normalized case. The ratio of the two beta1 values (500)
//   is about D, the factor between squared distances of unit vectors and of vectors of norm sqrt(D): only a
//   reduction that sums the dimensions in both cases makes both values mean the same thing.
// `cosine` (1 - cos) is exactly half of `normalized-l2`: double the weight to switch between them.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { oneOf, positive, rank, sameShape } from "./check.js";
import { output, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

export const EMBEDDING_METRICS = ["normalized-l2", "l2", "cosine", "smooth-l1"] as const;
export type EmbeddingMetric = (typeof EMBEDDING_METRICS)[number];

export interface EmbeddingDistanceOptions {
  /** normalized-l2 (default): squared L2 of the L2-normalized embeddings; l2: squared L2 of the raw ones; cosine:
   * 1 - cos; smooth-l1: Huber with threshold `beta` per dimension on the raw embeddings. */
  metric?: EmbeddingMetric;
  /** Threshold of smooth-l1 between its quadratic and linear parts (1). */
  beta?: number;
}

/** Checks a metric name and smooth-l1's threshold, so that a configuration error shows before training. */
export function checkEmbeddingOptions(loss: string, { metric, beta }: EmbeddingDistanceOptions): void {
  if (metric !== undefined) oneOf(loss, "metric", metric, EMBEDDING_METRICS);
  if (beta !== undefined) positive(loss, "beta", beta);
}

/** L_emb(a, b) for embeddings [N, D]: the metric summed over dimensions, averaged over the batch. */
export function embeddingDistance(
  a: Tensor,
  b: Tensor,
  { metric = "normalized-l2", beta = 1 }: EmbeddingDistanceOptions = {},
): Tensor {
  const loss = "L_emb";
  checkEmbeddingOptions(loss, { metric, beta });
  rank(loss, a, 2, "the embeddings");
  sameShape(loss, a, b, ["the first embeddings", "the second"]);
  return torch.tidy(() => {
    switch (metric) {
      case "normalized-l2":
        return F.normalize(a).sub(F.normalize(b)).square().sum(1).mean();
      case "l2":
        return a.sub(b).square().sum(1).mean();
      case "cosine":
        return F.cosineSimilarity(a, b).neg().add(1).mean();
      case "smooth-l1":
        return F.smoothL1Loss(a, b, "sum", beta).div(a.size(0));
    }
  });
}

/** Distillation from a live teacher's embedding: L_emb(f_s, f_t) (offline teachers run under noGrad). */
export function embeddingLoss(options: EmbeddingDistanceOptions = {}): Loss {
  checkEmbeddingOptions("embedding", options);
  return (ctx) => {
    const student = output(ctx, "student", "embedding", "embedding");
    const teacher = output(ctx, "teacher", "embedding", "embedding");
    sameShape("embedding", student, teacher, ["the student's embedding", "the teacher's"]);
    return embeddingDistance(student, teacher, options);
  };
}

/** The options of every L_emb loss (embedding, ReFO's fo and reverse). */
export const embeddingOptions = z.object({
  metric: z
    .enum(EMBEDDING_METRICS)
    .default("normalized-l2")
    .describe("normalized-l2: squared L2 of L2-normalized embeddings; l2: of raw ones; cosine: 1 - cos; smooth-l1"),
  beta: z.number().positive().default(1).describe("smooth-l1's threshold between its quadratic and linear parts"),
});

defineLoss({
  name: "embedding",
  summary: "L_emb(f_s, f_t) against a live teacher's embedding",
  kind: "embedding",
  reads: ["embedding"],
  options: embeddingOptions,
  create: (o) => embeddingLoss(o),
});
