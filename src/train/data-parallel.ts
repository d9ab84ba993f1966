// Data parallelism as PyTorch's DistributedDataParallel does it, as a listener of the loop: rank 0's parameters and
// buffers are broadcast at the start, and after every backward the gradients are averaged across ranks with a few
// large allReduce calls over flat buckets (~25 MB, DDP's bucket_cap_mb) instead of one per tensor, started during
// the backward pass as buckets become ready (hooks on the gradient accumulators, as DDP does). BatchNorm
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

/** A bucket's gradients, flattened, and the all_reduce that sums them. */
interface Reduction {
  flat: torch.Tensor;
  work: { wait(): void };
}

/**
 * Averages gradients across the ranks of `group`. Every rank must call sync() once per step with the same
 * parameters, a skipped step included: the ranks agree on skipping (one rank's non-finite loss skips the step
 * everywhere, or the replicas would drift apart) through flags reduced after the gradients.
 *
 * With `overlap` (CPU tensors only), from the second step on a bucket's all_reduce starts during the backward
 * pass, as soon as autograd has accumulated the last of its gradients (DDP's design): buckets hold the parameters
 * in reverse order, which is roughly the order backward finishes them, and start strictly in bucket order, so that
 * every rank issues the same collectives in the same order. Buckets with a gradient still missing (an unused
 * parameter, or a rank that skipped backward) start in sync(). It needs one backward pass per step.
 */
export class GradientSync {
  /** Seconds spent in sync() so far (waiting for the reductions backward did not hide, and starting the rest),
   *  the steps synchronised, and the buckets whose reduction started during backward. */
  seconds = 0;
  steps = 0;
  overlapped = 0;
  #watched: readonly torch.nn.Parameter[] | null = null;
  #removeHooks: (() => void)[] = [];
  #buckets: number[][] = [];
  /** Per bucket: its parameters that autograd gives a gradient (frozen ones have no hook), and how many have one. */
  #trainable: number[] = [];
  #ready: number[] = [];
  #started: (Reduction | null)[] = [];
  #accumulatedTwice = false;

  constructor(
    readonly group: ProcessGroup,
    readonly bucketBytes = BUCKET_BYTES,
    readonly overlap = false,
  ) {}

  /** Averages the gradients in place; returns why the step is skipped on some rank, or null. */
  sync(params: readonly torch.nn.Parameter[], problem: string | null): string | null {
    const { rank, worldSize } = this.group;
    const started = performance.now();
    if (!this.#isWatching(params)) this.#prepare(params);
    if (this.#accumulatedTwice) {
      throw new Error(
        "data parallel: a gradient was accumulated twice in one step, but overlapping the all_reduce with backward " +
          "needs one backward pass per step (set overlapGradients: false)",
      );
    }
    const skipped = torch.tidy(() => {
      // per parameter, whether this rank has a gradient (unused parameters have none); per rank, a skip flag
      const extras = torch.zeros([params.length + worldSize]);
      params.forEach((p, i) => p.grad && extras.narrow(0, i, 1).fill_(1));
      if (problem !== null) extras.narrow(0, params.length + rank, 1).fill_(1);
      this.overlapped += this.#started.filter((r) => r !== null).length;
      const reductions = this.#buckets.map((_, b) => this.#started[b] ?? this.#start(b, params));
      this.group.allReduce(extras, "sum");
      for (const [b, bucket] of this.#buckets.entries()) {
        const { flat, work } = reductions[b]!;
        work.wait();
        let offset = 0;
        for (const i of bucket) {
          const p = params[i]!;
          const n = p.numel();
          const average = flat.narrow(0, offset, n).view(p.shape).div(worldSize);
          offset += n;
          if (p.grad) p.grad.copy_(average);
          else if (extras.narrow(0, i, 1).item() > 0) p.grad = torch.keep(average.clone());
        }
        flat.dispose();
      }
      const flags = extras.narrow(0, params.length, worldSize).toNumbers();
      return flags.flatMap((f, r) => (f > 0 ? [r] : []));
    });
    this.#ready.fill(0);
    this.#started.fill(null);
    this.seconds += (performance.now() - started) / 1000;
    this.steps += 1;
    if (this.overlap && this.#removeHooks.length === 0 && params[0]?.device === "cpu") this.#watch(params);
    if (problem !== null) return problem;
    return skipped.length > 0 ? `the step was skipped on rank ${skipped.join(", ")} (non-finite loss)` : null;
  }

  /** Stops starting reductions during backward. */
  close(): void {
    for (const remove of this.#removeHooks) remove();
    this.#removeHooks = [];
    this.#watched = null;
  }

  #isWatching(params: readonly torch.nn.Parameter[]): boolean {
    const watched = this.#watched;
    return watched !== null && watched.length === params.length && watched.every((p, i) => p === params[i]);
  }

  // buckets of parameter indices, the last parameters first; a bucket closes once it holds bucketBytes of float32
  #prepare(params: readonly torch.nn.Parameter[]): void {
    this.close();
    this.#watched = params;
    const buckets: number[][] = [[]];
    let bytes = 0;
    for (let i = params.length - 1; i >= 0; i--) {
      const p = params[i]!;
      if (p.dtype !== "float32") {
        throw new TypeError(`data parallel: parameter ${i} is ${p.dtype}; gradients are averaged as float32`);
      }
      if (bytes > 0 && bytes + 4 * p.numel() > this.bucketBytes) {
        buckets.push([]);
        bytes = 0;
      }
      buckets.at(-1)!.push(i);
      bytes += 4 * p.numel();
    }
    this.#buckets = buckets;
    this.#trainable = buckets.map((bucket) => bucket.filter((i) => params[i]!.requiresGrad).length);
    this.#ready = buckets.map(() => 0);
    this.#started = buckets.map(() => null);
  }

  // from now on, each bucket starts once backward has accumulated all of its gradients and every earlier one started
  #watch(params: readonly torch.nn.Parameter[]): void {
    this.#buckets.forEach((bucket, b) => {
      for (const i of bucket.filter((i) => params[i]!.requiresGrad)) {
        this.#removeHooks.push(
          torch.onGradAccumulated(params[i]!, () => {
            if (this.#started[b] !== null) this.#accumulatedTwice = true;
            else if (++this.#ready[b]! === this.#trainable[b]) this.#startReadyBuckets(params);
          }),
        );
      }
    });
  }

  #startReadyBuckets(params: readonly torch.nn.Parameter[]): void {
    for (let b = this.#started.indexOf(null); b >= 0 && b < this.#buckets.length; b++) {
      if (this.#ready[b] !== this.#trainable[b]) return;
      this.#started[b] = this.#start(b, params);
    }
  }

  // the bucket's gradients (zeros where this rank has none) flattened and summed across ranks, from now on
  #start(b: number, params: readonly torch.nn.Parameter[]): Reduction {
    const flat = torch.noGrad(() =>
      torch.tidy(() => {
        const grads = this.#buckets[b]!.map((i) => params[i]!.grad ?? torch.zeros(params[i]!.shape));
        return torch.keep(torch.cat(grads.map((g) => g.reshape([-1]))));
      }),
    );
    return { flat, work: this.group.allReduceAsync(flat) };
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
    close: () => sync.close(),
  };
}
