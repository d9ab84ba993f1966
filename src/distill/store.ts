// Precomputed embeddings over a dataset, looked up by sample index: ReFO's f_s' (reverse distillation) and f_t
// (feature-only distillation) come from a model run once over the data instead of a forward pass per step.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** Rows of an [count, dim] embedding table by sample index. A memory-mapped table can implement this too. */
export interface EmbeddingLookup {
  readonly count: number;
  readonly dim: number;
  /** The rows [B, dim] at sample indices [B] (int64), without gradient. */
  gather(indices: Tensor): Tensor;
}

/** An embedding table held as one tensor (any floating dtype: float16 halves the memory). */
export class EmbeddingStore implements EmbeddingLookup {
  readonly embeddings: Tensor;

  /** Keeps its own reference to `embeddings` [N, D] (detached): the caller may dispose theirs. */
  constructor(embeddings: Tensor) {
    if (embeddings.ndim !== 2 || !torch.isFloatingDType(embeddings.dtype)) {
      throw new TypeError(
        `EmbeddingStore: expected floating-point embeddings [N, D], got ${embeddings.dtype} [${embeddings.shape.join(", ")}]`,
      );
    }
    this.embeddings = torch.keep(embeddings.detach());
  }

  get count(): number {
    return this.embeddings.size(0);
  }

  get dim(): number {
    return this.embeddings.size(1);
  }

  gather(indices: Tensor): Tensor {
    if (indices.dtype !== "int64" || indices.ndim !== 1) {
      throw new TypeError(
        `EmbeddingStore: sample indices must be int64 [B], got ${indices.dtype} [${indices.shape.join(", ")}]`,
      );
    }
    return torch.tidy(() => {
      const index = indices.to({ device: this.embeddings.device });
      if (index.numel() > 0) {
        const [low, high] = [index.min().item(), index.max().item()];
        if (low < 0 || high >= this.count) {
          throw new RangeError(
            `EmbeddingStore: sample indices run from ${low} to ${high} but the store holds ${this.count} rows ` +
              "(were the embeddings extracted from this dataset, in the same order?)",
          );
        }
      }
      return this.embeddings.indexSelect(0, index);
    });
  }

  dispose(): void {
    this.embeddings.dispose();
  }
}
