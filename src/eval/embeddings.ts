// Preparing embeddings for evaluation: the flip-sum of the insightface protocols and L2 normalization.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** Rows scaled to unit L2 norm (all-zero rows stay zero), as sklearn.preprocessing.normalize. */
export function l2Normalize(embeddings: Tensor): Tensor {
  return torch.noGrad(() => torch.nn.functional.normalize(embeddings.to("float32"), 2, 1));
}

/**
 * emb(image) + emb(flipped image), as the insightface protocols combine a test image with its horizontal flip;
 * L2-normalized unless `normalize` is false (the IJB template protocol keeps the norm as a quality signal).
 */
export function combineFlip(embeddings: Tensor, flippedEmbeddings: Tensor, normalize = true): Tensor {
  const [a, b] = [embeddings.shape, flippedEmbeddings.shape];
  if (a.length !== 2 || a.join() !== b.join())
    throw new Error(`combineFlip: expected two [N, D] tensors of one shape, got [${a}] and [${b}]`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const sum = embeddings.to("float32").add(flippedEmbeddings.to("float32"));
      return normalize ? l2Normalize(sum) : sum;
    }),
  );
}
