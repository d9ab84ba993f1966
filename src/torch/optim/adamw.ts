// AdamW: Adam with decoupled weight decay, torch.optim.AdamW's (amsgrad=False) update op for op.
import * as aten from "../generated/aten.js";
import type { Parameter } from "../nn/parameter.js";
import { Tensor } from "../tensor.js";
import { Optimizer, type ParamGroup, type ParamState, type ResolvedGroup } from "./optimizer.js";

export interface AdamWHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

export type AdamWOptions = Partial<AdamWHyper>;

export type AdamWState = { step: number; exp_avg: Tensor; exp_avg_sq: Tensor };

export class AdamW extends Optimizer<AdamWHyper, AdamWState> {
  constructor(params: readonly Parameter[] | readonly ParamGroup<AdamWHyper>[], options: AdamWOptions = {}) {
    const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2 } = options;
    super(params, { lr, betas: [betas[0], betas[1]], eps, weightDecay });
  }

  protected override validateHyper(h: AdamWHyper): void {
    const bad = (what: string): never => {
      throw new RangeError(`AdamW: ${what}`);
    };
    if (!(h.lr >= 0)) bad(`lr must be a number >= 0, got ${h.lr}`);
    if (!(h.eps >= 0)) bad(`eps must be >= 0, got ${h.eps}`);
    if (!Array.isArray(h.betas) || h.betas.length !== 2 || !h.betas.every((b) => b >= 0 && b < 1)) {
      bad(`betas must be two numbers in [0, 1), got ${JSON.stringify(h.betas)}`);
    }
    if (!(h.weightDecay >= 0)) bad(`weightDecay must be >= 0, got ${h.weightDecay}`);
  }

  protected override updateParam(p: Parameter, grad: Tensor, g: ResolvedGroup<AdamWHyper>): void {
    const [beta1, beta2] = g.betas;
    const s =
      this.state.get(p) ??
      this.setState(p, {
        step: 0,
        exp_avg: aten.zeros_like(p, null, null, null, null, "preserve"),
        exp_avg_sq: aten.zeros_like(p, null, null, null, null, "preserve"),
      });
    s.step += 1;
    // Decoupled decay (skipped at 0, where PyTorch's multiplication by 1 changes nothing).
    if (g.weightDecay !== 0) p.mul_(1 - g.lr * g.weightDecay);
    s.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    s.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const biasCorrection1 = 1 - beta1 ** s.step;
    const biasCorrection2 = 1 - beta2 ** s.step;
    const stepSize = g.lr / biasCorrection1;
    // denom = sqrt(v) / sqrt(bc2) + eps, computed in the one temporary
    const denom = s.exp_avg_sq.sqrt().div_(Math.sqrt(biasCorrection2)).add_(g.eps);
    p.addcdiv_(s.exp_avg, denom, -stepSize);
  }

  protected override checkState(s: ParamState, index: number): AdamWState {
    const keys = Object.keys(s).sort().join(", ");
    if (
      keys !== "exp_avg, exp_avg_sq, step" ||
      !(s.exp_avg instanceof Tensor) ||
      !(s.exp_avg_sq instanceof Tensor) ||
      !Number.isInteger(s.step)
    ) {
      throw new Error(
        `AdamW.loadStateDict: parameter ${index} has state [${keys}]; AdamW needs the tensors exp_avg and ` +
          "exp_avg_sq and an integer step (in meta.state)",
      );
    }
    return s as AdamWState;
  }
}
