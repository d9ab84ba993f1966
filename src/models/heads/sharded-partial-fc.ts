// Sharded Partial FC (An et al. 2022, "Killing Two Birds with One Stone"; arcface_torch's partial_fc_v2.py): the
// class centres are split across the ranks of a process group, so that 360k or 1M identities fit. Each step
// all-gathers the ranks' embeddings and labels; each rank computes the margin logits of the whole gathered batch
// against its own centres (its positives, plus sampled negatives when sampleRate < 1), and the softmax over the
// ranks' columns is completed by an all-reduce of the row maxima and of the sums of exponentials. The loss, the
// centres' gradients and the embeddings' gradients equal the unsharded head's on the gathered batch at sampleRate 1.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import type { ProcessGroup } from "../../torch/distributed.js";
import { cosineLogits, type CombinedMargin } from "./margins.js";
import { checkPartialFCOptions, pickClasses, type PartialFCLogits, type PartialFCOptions } from "./partial-fc.js";

const { nn } = torch;
type Optimizer = torch.optim.Optimizer;

/**
 * The classes [start, start + count) that rank `rank` of `worldSize` holds: floor(numClasses / worldSize) each,
 * and one more for each of the first numClasses % worldSize ranks (arcface_torch's split).
 */
export function classShard(numClasses: number, worldSize: number, rank: number): { start: number; count: number } {
  const base = Math.floor(numClasses / worldSize);
  const extra = numClasses % worldSize;
  return { start: base * rank + Math.min(rank, extra), count: base + (rank < extra ? 1 : 0) };
}

// Centres are drawn this many rows at a time, to bound the temporary memory.
const INIT_ROWS = 8192;

export class ShardedPartialFC extends nn.Module<[Tensor, Tensor], Tensor> {
  readonly margin: CombinedMargin;
  readonly numClasses: number;
  readonly sampleRate: number;
  readonly rank: number;
  readonly worldSize: number;
  /** The first class this rank holds, and how many it holds. */
  readonly classStart: number;
  readonly numLocal: number;
  /** How many of its centres a sampled step uses on this rank (arcface_torch: sampleRate * numLocal). */
  readonly numSample: number;
  /**
   * This rank's centres [numLocal, embeddingSize] (state-dict key `weight`: a per-rank shard; fullState() gives
   * the world-size-independent whole). Give it to the optimizer, but keep it out of the gradient averaging of
   * data parallelism: its gradient is already this shard's whole gradient.
   */
  readonly weight: torch.nn.Parameter;
  readonly #group: ProcessGroup | null;

  /**
   * `group` is the process group whose ranks share the centres; null for one process (all centres here). Every
   * rank draws the same random numbers (initial centres, sampling scores) for all classes and keeps its own: with
   * the same torch.manualSeed on every rank, the centres and the sampled classes are those of any other world size.
   */
  constructor(options: PartialFCOptions, group: ProcessGroup | null) {
    super();
    const { margin, embeddingSize, numClasses, sampleRate = 1 } = options;
    const where = "ShardedPartialFC";
    checkPartialFCOptions(where, { margin, embeddingSize, numClasses, sampleRate });
    this.#group = group;
    this.rank = group?.rank ?? 0;
    this.worldSize = group?.worldSize ?? 1;
    if (numClasses < this.worldSize) {
      throw new RangeError(
        `${where}: ${numClasses} classes cannot be split over ${this.worldSize} ranks; use fewer ranks`,
      );
    }
    this.margin = margin;
    this.numClasses = numClasses;
    this.sampleRate = sampleRate;
    const { start, count } = classShard(numClasses, this.worldSize, this.rank);
    this.classStart = start;
    this.numLocal = count;
    this.numSample = Math.max(1, Math.floor(sampleRate * count));
    // normal(0, 0.01) as arcface_torch, drawn for all classes in fixed blocks, of which this rank keeps its rows
    const weight = torch.empty([count, embeddingSize]);
    torch.noGrad(() => {
      for (let first = 0; first < numClasses; first += INIT_ROWS) {
        torch.tidy(() => {
          const block = torch.randn([Math.min(INIT_ROWS, numClasses - first), embeddingSize]);
          const [from, to] = [Math.max(first, start), Math.min(first + block.size(0), start + count)];
          if (from < to)
            weight.narrow(0, from - start, to - from).copy_(block.narrow(0, from - first, to - from).mul(0.01));
        });
      }
    });
    this.weight = this.registerParameter("weight", weight);
  }

  /**
   * The margin-softmax cross entropy, averaged over the gathered batch of all ranks (the same value on every
   * rank), of this rank's embeddings [B, D] and labels [B] (int64 class indices); every rank must pass the same B.
   * Each rank's embeddings receive worldSize times the gradient of that loss, as a replicated head's would under
   * data parallelism (whose trainer averages the backbone's gradients over ranks); arcface_torch does the same.
   */
  forward(embeddings: Tensor, labels: Tensor): Tensor {
    return torch.tidy(() => {
      const { logits, targets } = this.logits(embeddings, labels);
      return this.crossEntropy(logits, targets);
    });
  }

  /**
   * The gathered batch's logits over this rank's centres: all of them in eval mode or at sampleRate 1, else its
   * positives and sampled negatives. `targets` is -1 for a row whose class another rank holds; `classes` holds
   * the global class index of each column.
   */
  logits(embeddings: Tensor, labels: Tensor): PartialFCLogits {
    return torch.tidy(() => {
      const batch = this.gather(embeddings, labels);
      const local = batch.labels.sub(this.classStart);
      const mine = torch.aten.logical_and(local.ge(0), local.lt(this.numLocal));
      const sampling = this.training && this.numSample < this.numLocal;
      const columns = sampling ? this.sampleClasses(local.maskedSelect(mine)) : torch.arange(this.numLocal);
      const found = sampling ? torch.aten.searchsorted_Tensor(columns, local.clamp(0, this.numLocal - 1)) : local;
      const targets = torch.where(mine, found, -1);
      const centres = sampling ? this.weight.indexSelect(0, columns) : this.weight;
      const logits = this.margin.apply(cosineLogits(batch.embeddings, centres), targets);
      return { logits, targets, classes: columns.add(this.classStart) };
    });
  }

  /**
   * This rank's columns of a sampled step, as ascending indices into its centres: every local class in
   * `positives`, then the others with the highest random scores up to numSample.
   */
  sampleClasses(positives: Tensor): Tensor {
    return torch.noGrad(() =>
      torch.tidy(() => {
        const score = torch.rand([this.numClasses]).narrow(0, this.classStart, this.numLocal);
        return pickClasses(score, positives, this.numSample);
      }),
    );
  }

  /**
   * Collective: the full [numClasses, ...] tensor on rank `root` (null on the others) from every rank's
   * [numLocal, ...] `shard` of it, e.g. the centres or their momentum. One process returns a copy.
   */
  gatherShards(shard: Tensor, root = 0): Tensor | null {
    this.checkRows("gatherShards: the shard", shard, this.numLocal);
    const group = this.#group;
    if (group === null) return torch.noGrad(() => shard.clone());
    return torch.noGrad(() =>
      torch.tidy(() => {
        // Gloo gathers equal sizes: a rank holding one class fewer sends one row of padding, dropped on arrival
        const rows = Math.ceil(this.numClasses / this.worldSize);
        const padding = torch.zeros([rows - this.numLocal, ...shard.shape.slice(1)], { dtype: shard.dtype });
        const all = group.gather(torch.cat([shard.detach().cpu(), padding]), root);
        if (all === null) return null;
        const parts = Array.from({ length: this.worldSize }, (_, r) =>
          all.narrow(0, r * rows, classShard(this.numClasses, this.worldSize, r).count),
        );
        return torch.cat(parts);
      }),
    );
  }

  /** This rank's rows (a copy) of a full [numClasses, ...] tensor, whatever world size wrote it. */
  shardOf(full: Tensor): Tensor {
    this.checkRows("shardOf: the full tensor", full, this.numClasses);
    return torch.noGrad(() => torch.tidy(() => full.narrow(0, this.classStart, this.numLocal).clone()));
  }

  /**
   * Collective: a checkpoint independent of the world size, on rank `root` (null on the others): the full
   * centres under `weight` and, given the optimizer, its state tensors of them under their own names (SGD's
   * `momentum_buffer`, once it has stepped).
   */
  fullState(optimizer?: Optimizer, root = 0): Map<string, Tensor> | null {
    const state = new Map<string, Tensor>([["weight", this.weight]]);
    if (optimizer) for (const [name, t] of this.optimizerState(optimizer).state) state.set(name, t);
    const full = torch.tidy(() => [...state].map(([name, t]) => [name, this.gatherShards(t, root)] as const));
    return full[0]![1] === null ? null : new Map(full as [string, Tensor][]);
  }

  /** Loads this rank's rows of a fullState() (of any world size) into the centres and the optimizer's state. */
  loadFullState(state: Map<string, Tensor>, optimizer?: Optimizer): void {
    const weight = state.get("weight");
    if (!weight) throw new Error("ShardedPartialFC.loadFullState: the state has no 'weight' (the full centres)");
    torch.noGrad(() => torch.tidy(() => this.weight.copy_(this.shardOf(weight))));
    if (!optimizer) return;
    const { index, dict } = this.optimizerState(optimizer);
    torch.tidy(() => {
      // loadStateDict replaces every state tensor: it gets copies, the live ones are freed on the way
      const tensors = new Map([...dict.tensors].map(([k, t]) => [k, t.clone()] as const));
      for (const [name, t] of state) if (name !== "weight") tensors.set(`state.${index}.${name}`, this.shardOf(t));
      optimizer.loadStateDict({ tensors, meta: dict.meta });
    });
  }

  // The optimizer's state dict, the index of this head's centres in it and their state tensors by name.
  private optimizerState(optimizer: Optimizer) {
    const index = optimizer.paramGroups.flatMap((g) => g.params).indexOf(this.weight);
    if (index < 0) {
      throw new Error("ShardedPartialFC: the optimizer does not hold this head's weight; pass the one that trains it");
    }
    const dict = optimizer.stateDict();
    const prefix = `state.${index}.`;
    const state = [...dict.tensors]
      .filter(([k]) => k.startsWith(prefix))
      .map(([k, t]) => [k.slice(prefix.length), t] as const);
    return { index, dict, state };
  }

  // The embeddings and labels of every rank, in rank order, after every rank checked every rank's batch.
  private gather(embeddings: Tensor, labels: Tensor): { embeddings: Tensor; labels: Tensor } {
    const where = "ShardedPartialFC";
    const dim = this.weight.size(1);
    if (embeddings.ndim !== 2 || embeddings.size(1) !== dim) {
      throw new RangeError(`${where}: embeddings must be [N, ${dim}], got [${embeddings.shape.join(", ")}]`);
    }
    const n = embeddings.size(0);
    if (labels.dtype !== "int64" || labels.ndim !== 1 || labels.size(0) !== n) {
      throw new TypeError(
        `${where}: labels must be int64 [${n}] (one per embedding), got ${labels.dtype} [${labels.shape.join(", ")}]`,
      );
    }
    // one small collective first, so that a bad batch on any rank fails on every rank instead of hanging them
    const status = torch.tensor(n === 0 ? [n, 0, 0] : [n, labels.min().item(), labels.max().item()], {
      dtype: "int64",
    });
    const all = (this.#group?.allGatherIntoTensor(status) ?? status).toNumbers();
    const sizes = all.filter((_, i) => i % 3 === 0);
    if (sizes.some((s) => s !== n)) {
      throw new RangeError(
        `${where}: the ranks' batches have sizes [${sizes.join(", ")}]; every rank must pass the same number`,
      );
    }
    for (let r = 0; r < this.worldSize && n > 0; r++) {
      const [low, high] = [all[3 * r + 1]!, all[3 * r + 2]!];
      if (low < 0 || high >= this.numClasses) {
        throw new RangeError(
          `${where}: rank ${r}'s labels must lie in [0, ${this.numClasses}), got values from ${low} to ${high}`,
        );
      }
    }
    const group = this.#group;
    if (group === null) return { embeddings, labels };
    // worldSize times the gradient, with the value unchanged exactly: x + (W x - W x) in value, W dx in gradient
    const scaled = embeddings.mul(this.worldSize);
    const boosted = embeddings.detach().add(scaled.sub(scaled.detach()));
    return {
      embeddings: group.allGatherWithGrad(boosted.contiguous()),
      labels: group.allGatherIntoTensor(labels.contiguous()),
    };
  }

  /**
   * The mean cross entropy of the softmax over all ranks' columns, from this rank's logits [N, C] and targets
   * (-1 where another rank holds the class): the row maxima and the sums of exponentials are all-reduced. Its
   * gradient with respect to the logits, softmax - one-hot over N, is computed here and attached to the value.
   */
  private crossEntropy(logits: Tensor, targets: Tensor): Tensor {
    const group = this.#group;
    const [value, gradient] = torch.noGrad(() =>
      torch.tidy(() => {
        const z = logits.detach();
        const rowMax = z.amax(1, true);
        group?.allReduce(rowMax, "max");
        // one [N, C] buffer becomes exp, then the softmax, then its gradient (in place: the logits are the big ones)
        const g = torch.aten.exp_(z.sub(rowMax));
        const sum = g.sum(1, true);
        group?.allReduce(sum, "sum");
        const mine = targets.ge(0).unsqueeze(1);
        const index = targets.clampMin(0).unsqueeze(1);
        const target = z.gather(1, index).mul(mine);
        group?.allReduce(target, "sum");
        const loss = sum.log().add(rowMax).sub(target).mean();
        g.div_(sum);
        torch.aten.scatter__src(g, 1, index, g.gather(1, index).sub(mine.float()));
        return [loss, g.div_(z.size(0))] as const;
      }),
    );
    // d(logits . gradient)/d(logits) is the gradient; subtracting its own detached value leaves the loss
    const surrogate = torch.aten.dot(logits.flatten(), gradient.flatten());
    return surrogate.sub(surrogate.detach()).add(value);
  }

  private checkRows(what: string, t: Tensor, rows: number): void {
    if (t.ndim < 1 || t.size(0) !== rows) {
      throw new RangeError(
        `ShardedPartialFC.${what} must have ${rows} rows (this rank holds classes ${this.classStart}..` +
          `${this.classStart + this.numLocal - 1} of ${this.numClasses}), got [${t.shape.join(", ")}]`,
      );
    }
  }
}
