// The dataset positions of a loader's batch, which the precomputed-embedding losses look rows up by. The loader's
// Batch does not carry them yet, so they are recomputed from its plan: the epoch's order, from the position before
// the batch. This holds only when no record was skipped as corrupt (the batch is then shorter: an error here).
import { planEpoch } from "../data/loader/plan.js";
import type { LoaderPosition } from "../data/index.js";
import * as torch from "../torch/index.js";

export class BatchIndices {
  #epoch = -1;
  #order: Uint32Array = new Uint32Array(0);

  constructor(
    readonly length: number,
    readonly seed: number,
    readonly shuffle: boolean,
  ) {}

  /** The positions [count] (int64) of the batch that started at `before`. */
  of(before: LoaderPosition, count: number, batchSize: number): torch.Tensor {
    if (count !== Math.min(batchSize, this.length - before.index)) {
      throw new Error(
        `a batch lost ${batchSize - count} corrupt record(s): precomputed embeddings can no longer be matched to it ` +
          "(repack the dataset without the corrupt records, or turn skipCorrupt off)",
      );
    }
    if (before.epoch !== this.#epoch) {
      this.#order = planEpoch(this.length, this.seed, before.epoch, this.shuffle, false).order;
      this.#epoch = before.epoch;
    }
    return torch.tensor(Array.from(this.#order.subarray(before.index, before.index + count)), { dtype: "int64" });
  }
}
