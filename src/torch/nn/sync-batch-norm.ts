// Batch normalization over the global batch of a data-parallel job (PyTorch's SyncBatchNorm): in training, each
// channel's mean and variance are those of every rank's samples together, so that N ranks of batch B normalize as one
// process of batch N x B does. Both statistics are all-gathered with their gradient (the gradient of a gathered
// tensor is summed over the ranks in backward), so autograd differentiates through the other ranks' samples with
// no custom backward. Two passes (the mean, then the centred squares) keep the variance as exact as libtorch's own.
import { full } from "../creation.js";
import { cat } from "../ops.js";
import { noGrad } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import type { Module } from "./module.js";

/** What synchronized statistics need of a process group (torch/distributed.ts's ProcessGroup has it). */
export interface StatisticsGroup {
  readonly worldSize: number;
  allGatherWithGrad(tensor: Tensor): Tensor;
}

export interface SyncedNorm {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  eps: number;
}

/** `input` [B, C, ...] normalized with the statistics of every rank's batch; updates the running statistics with
 *  `momentum` (the unbiased variance, as libtorch does). */
export function syncedBatchNorm(input: Tensor, norm: SyncedNorm, momentum: number, group: StatisticsGroup): Tensor {
  const channels = input.size(1);
  const dims = [0, ...Array.from({ length: input.ndim - 2 }, (_, i) => i + 2)];
  const shape = [1, channels, ...dims.slice(1).map(() => 1)];
  const total = (perRank: Tensor) => group.allGatherWithGrad(perRank.unsqueeze(0)).sum(0);
  const counted = total(cat([input.sum(dims), full([1], input.numel() / channels, { dtype: input.dtype })]));
  const count = counted.narrow(0, channels, 1);
  const mean = counted.narrow(0, 0, channels).div(count);
  const centred = input.sub(mean.view(shape));
  const variance = total(centred.square().sum(dims)).div(count);
  let out = centred.mul(variance.add(norm.eps).rsqrt().view(shape));
  if (norm.weight !== null) out = out.mul(norm.weight.view(shape));
  if (norm.bias !== null) out = out.add(norm.bias.view(shape));
  if (norm.runningMean !== null && norm.runningVar !== null) {
    noGrad(() => {
      const n = count.item();
      norm.runningMean!.mul_(1 - momentum).add_(mean.mul(momentum));
      norm.runningVar!.mul_(1 - momentum).add_(variance.mul((momentum * n) / Math.max(1, n - 1)));
    });
  }
  return out;
}

/** A layer that can normalize with the statistics of a whole data-parallel batch. */
export interface Synchronizable {
  synchronize(group: StatisticsGroup | null): void;
}

const isSynchronizable = (m: object): m is Synchronizable =>
  typeof (m as Partial<Synchronizable>).synchronize === "function";

/**
 * Makes every BatchNorm of `module` normalize with the statistics of all ranks of `group` while training
 * (PyTorch's `SyncBatchNorm.convert_sync_batchnorm`); null makes them local again. Returns how many it changed.
 */
export function synchronizeBatchNorm(module: Module<never[], unknown>, group: StatisticsGroup | null): number {
  let count = 0;
  for (const [, layer] of module.namedModules()) {
    if (isSynchronizable(layer)) {
      layer.synchronize(group);
      count++;
    }
  }
  return count;
}
