// The margin heads of a data-parallel run, sharded (ShardedPartialFC): each rank holds its slice of the class
// centres and of their optimizer state, and computes its slice's whole gradient. So the trainer keeps the slices
// out of the gradient averaging, clips with the norm over every rank's slice, and writes checkpoints with the
// centres whole (gathered to rank 0), which resume on any number of ranks: each rank cuts its rows out again.
import * as torch from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import { ShardedPartialFC } from "../models/heads/index.js";

type Optimizer = torch.optim.Optimizer<torch.optim.BaseHyper>;

interface ShardedHead {
  /** Its centres' state-dict key in the loss module: `<label>.weight`. */
  key: string;
  head: ShardedPartialFC;
  /** Its centres' index among the optimizer's parameters: their state is `state.<index>.<name>`. */
  index: number;
}

/** A checkpoint's sharded tensors whole: the centres by state-dict key, their optimizer state by its key. */
export interface WholeHeads {
  weights: Map<string, torch.Tensor>;
  optimizer: Map<string, torch.Tensor>;
}

export class ShardedHeads {
  readonly #heads: ShardedHead[];
  readonly #group: ProcessGroup;

  constructor(lossModule: torch.nn.Module<never[], unknown>, optimizer: Optimizer, group: ProcessGroup) {
    const params = optimizer.paramGroups.flatMap((g) => g.params);
    this.#heads = lossModule
      .namedModules()
      .flatMap(([name, head]) =>
        head instanceof ShardedPartialFC
          ? [{ key: name === "" ? "weight" : `${name}.weight`, head, index: params.indexOf(head.weight) }]
          : [],
      );
    this.#group = group;
  }

  /** The loss module of `lossModule` has sharded heads. */
  get any(): boolean {
    return this.#heads.length > 0;
  }

  /** The slices of the centres: their gradients are not averaged across ranks. */
  get parameters(): ReadonlySet<torch.nn.Parameter> {
    return new Set(this.#heads.map(({ head }) => head.weight));
  }

  /**
   * Collective (every rank at the same step): the centres whole and, given the optimizer, their optimizer state
   * whole, on rank 0; null on the others. Free the tensors after use.
   */
  gather(optimizer?: Optimizer): WholeHeads | null {
    const whole: WholeHeads = { weights: new Map(), optimizer: new Map() };
    for (const { key, head, index } of this.#heads) {
      const state = head.fullState(optimizer);
      if (state === null) continue;
      for (const [name, t] of state) {
        if (name === "weight") whole.weights.set(key, t);
        else whole.optimizer.set(`state.${index}.${name}`, t);
      }
    }
    return this.#group.rank === 0 ? whole : null;
  }

  /** Replaces, in a checkpoint's loss-module and optimizer tensors, each whole tensor by this rank's rows. */
  shard(loss: Map<string, torch.Tensor>, optimizerState: Map<string, torch.Tensor>): void {
    for (const { key, head, index } of this.#heads) {
      const weight = loss.get(key);
      if (weight !== undefined) loss.set(key, head.shardOf(weight));
      const prefix = `state.${index}.`;
      for (const [k, t] of optimizerState) if (k.startsWith(prefix)) optimizerState.set(k, head.shardOf(t));
    }
  }

  /**
   * torch.optim.clipGradNorm over the replicated parameters and every rank's slice of the centres: the norm of the
   * whole gradient, the same on every rank (the slices' squared norms are summed across ranks).
   */
  clipGradNorm(params: readonly torch.nn.Parameter[], maxNorm: number): number {
    const sliced = this.parameters;
    return torch.noGrad(() =>
      torch.tidy(() => {
        const grads = params.map((p) => p.grad).filter((g): g is torch.Tensor => g !== null);
        // the sum of squares of the gradients of the slices (own) or of the replicated parameters, as float64 [1]
        const squares = (own: boolean): torch.Tensor => {
          const parts = params
            .filter((p) => p.grad !== null && sliced.has(p) === own)
            .map((p) => p.grad!.square().sum());
          return (parts.length > 0 ? torch.stack(parts).sum() : torch.zeros([])).to("float64").reshape([1]);
        };
        const slices = this.#group.allReduce(squares(true).cpu(), "sum");
        const total = Math.sqrt(squares(false).item() + slices.item());
        const coef = Math.min(1, maxNorm / (total + 1e-6));
        if (coef < 1) for (const g of grads) g.mul_(coef);
        return total;
      }),
    );
  }
}
