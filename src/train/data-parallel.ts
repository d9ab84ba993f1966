// Data parallelism as PyTorch's DistributedDataParallel does it, as a listener of the loop: rank 0's parameters and
// buffers are broadcast at the start, and after every backward the gradients are averaged across ranks with a few
// large allReduce calls over flat buckets (~25 MB, DDP's bucket_cap_mb) instead of one per tensor. DDP overlaps
// these with the backward pass through autograd hooks; our autograd has none, so they run after it. BatchNorm
// statistics stay local to each rank (DDP's default; `syncBatchNorm` makes them global), and rank 0's are the ones
// checkpointed. A sharded margin head's centres are each rank's own: neither broadcast nor averaged.
import * as torch from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import type { TrainListener } from "./events.js";

/** DDP's default bucket size. */
export const BUCKET_BYTES = 25 * 1024 * 1024;

/** Copies rank 0's parameters and buffers into every rank's modules, but for the `local` ones (sharded). */
export function broadcastModules(
  group: ProcessGroup,
  modules: readonly torch.nn.Module<never[], unknown>[],
  local: ReadonlySet<torch.nn.Parameter> = new Set(),
): void {
  torch.noGrad(() => {
    for (const module of modules) {
      const params = module.parameters().filter((p) => !local.has(p));
      for (const tensor of [...params, ...module.namedBuffers().map(([, b]) => b)]) {
        if (tensor.isContiguous()) group.broadcast(tensor, 0);
        else torch.tidy(() => void tensor.copy_(group.broadcast(tensor.contiguous(), 0)));
      }
    }
  });
}

/**
 * Averages gradients across the ranks of `group`. Every rank must call sync() once per step with the same
 * parameters, a skipped step included: the ranks agree on skipping (one rank's non-finite loss skips the step
 * everywhere, or the replicas would drift apart) through flags that ride in the last bucket.
 */
export class GradientSync {
  /** Seconds spent in allReduce so far, and the steps synchronised. */
  seconds = 0;
  steps = 0;

  constructor(
    readonly group: ProcessGroup,
    readonly bucketBytes = BUCKET_BYTES,
  ) {}

  /** Averages the gradients in place; returns why the step is skipped on some rank, or null. */
  sync(params: readonly torch.nn.Parameter[], problem: string | null): string | null {
    const { rank, worldSize } = this.group;
    const started = performance.now();
    const skipped = torch.tidy(() => {
      const buckets = this.#buckets(params);
      // per parameter, whether this rank has a gradient (unused parameters have none); per rank, a skip flag
      const extras = torch.zeros([params.length + worldSize]);
      params.forEach((p, i) => p.grad && extras.narrow(0, i, 1).fill_(1));
      if (problem !== null) extras.narrow(0, params.length + rank, 1).fill_(1);
      for (const [b, bucket] of buckets.entries()) {
        const parts = bucket.map((i) => params[i]!.grad ?? torch.zeros(params[i]!.shape));
        const flat = torch.cat([...parts.map((g) => g.reshape([-1])), ...(b === buckets.length - 1 ? [extras] : [])]);
        this.group.allReduce(flat, "sum");
        if (b === buckets.length - 1) extras.copy_(flat.narrow(0, flat.size(0) - extras.size(0), extras.size(0)));
        let offset = 0;
        for (const i of bucket) {
          const p = params[i]!;
          const n = p.numel();
          const average = flat.narrow(0, offset, n).view(p.shape).div(worldSize);
          offset += n;
          if (p.grad) p.grad.copy_(average);
          else if (extras.narrow(0, i, 1).item() > 0) p.grad = torch.keep(average.clone());
        }
      }
      const flags = extras.narrow(0, params.length, worldSize).toNumbers();
      return flags.flatMap((f, r) => (f > 0 ? [r] : []));
    });
    this.seconds += (performance.now() - started) / 1000;
    this.steps += 1;
    if (problem !== null) return problem;
    return skipped.length > 0 ? `the step was skipped on rank ${skipped.join(", ")} (non-finite loss)` : null;
  }

  // parameter indices by bucket, in order; a bucket closes once it holds bucketBytes of float32
  #buckets(params: readonly torch.nn.Parameter[]): number[][] {
    const buckets: number[][] = [[]];
    let bytes = 0;
    params.forEach((p, i) => {
      if (p.dtype !== "float32") {
        throw new TypeError(`data parallel: parameter ${i} is ${p.dtype}; gradients are averaged as float32`);
      }
      if (bytes > 0 && bytes + 4 * p.numel() > this.bucketBytes) {
        buckets.push([]);
        bytes = 0;
      }
      buckets.at(-1)!.push(i);
      bytes += 4 * p.numel();
    });
    return buckets;
  }
}

/**
 * The trainer's data-parallel listener: broadcast at the start, gradient averaging after each backward. The `local`
 * parameters (a sharded head's slice of the centres, whose gradient is already whole) are neither.
 */
export function dataParallel(
  sync: GradientSync,
  modules: readonly torch.nn.Module<never[], unknown>[],
  local: ReadonlySet<torch.nn.Parameter> = new Set(),
): TrainListener {
  return {
    start: () => broadcastModules(sync.group, modules, local),
    afterBackward: (params, _loop, problem) =>
      sync.sync(
        params.filter((p) => !local.has(p)),
        problem,
      ),
  };
}
