// SGD with momentum, dampening, Nesterov and (coupled) weight decay: torch.optim.SGD's update, op for op.
import type { Parameter } from "../nn/parameter.js";
import { Tensor } from "../tensor.js";
import { Optimizer, type ParamGroup, type ParamState, type ResolvedGroup } from "./optimizer.js";

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export type SGDOptions = { lr: number } & Partial<SGDHyper>;

export type SGDState = { momentum_buffer?: Tensor };

export class SGD extends Optimizer<SGDHyper, SGDState> {
  constructor(params: readonly Parameter[] | readonly ParamGroup<SGDHyper>[], options: SGDOptions) {
    const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = options;
    super(params, { lr, momentum, dampening, weightDecay, nesterov });
  }

  protected override validateHyper(h: SGDHyper): void {
    const bad = (what: string): never => {
      throw new RangeError(`SGD: ${what}`);
    };
    if (!(h.lr >= 0)) bad(`lr must be a number >= 0, got ${h.lr}`);
    if (!(h.momentum >= 0)) bad(`momentum must be >= 0, got ${h.momentum}`);
    if (!(h.weightDecay >= 0)) bad(`weightDecay must be >= 0, got ${h.weightDecay}`);
    if (!Number.isFinite(h.dampening)) bad(`dampening must be a number, got ${h.dampening}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      bad("nesterov needs momentum > 0 and dampening 0");
    }
  }

  protected override updateParam(p: Parameter, grad: Tensor, g: ResolvedGroup<SGDHyper>): void {
    // d_p = g + wd * p (a temporary; the grad itself is never modified)
    let d = g.weightDecay !== 0 ? grad.add(p, g.weightDecay) : grad;
    if (g.momentum !== 0) {
      let buf = this.state.get(p)?.momentum_buffer;
      if (buf === undefined) {
        // The first step's buffer is d_p itself: a temporary can be kept as is, the grad must be copied.
        buf = this.setState(p, { momentum_buffer: d === grad ? grad.clone() : d }).momentum_buffer!;
      } else {
        buf.mul_(g.momentum).add_(d, 1 - g.dampening);
      }
      d = g.nesterov ? d.add(buf, g.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }

  protected override checkState(s: ParamState, index: number): SGDState {
    const keys = Object.keys(s);
    if (keys.some((k) => k !== "momentum_buffer") || (keys.length > 0 && !(s.momentum_buffer instanceof Tensor))) {
      throw new Error(
        `SGD.loadStateDict: parameter ${index} has state [${keys.join(", ")}]; SGD keeps only a momentum_buffer tensor`,
      );
    }
    return s as SGDState;
  }
}
