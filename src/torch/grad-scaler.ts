// Dynamic loss scaling for float16 training, with PyTorch's GradScaler semantics: the loss is multiplied by `scale`
// before backward so that small float16 gradients do not flush to zero; the gradients are divided by it before the
// optimizer step. A step whose gradients overflowed (inf/NaN) is skipped and the scale multiplied by `backoff`;
// after `growthInterval` good steps in a row it is multiplied by `growth`. The math is device-independent; the scale
// lives in JS (one number), so a checkpoint holds it as JSON.
import { noGrad } from "./autograd.js";
import * as aten from "./generated/aten.js";
import { tidy } from "./scope.js";
import type { Tensor } from "./tensor.js";

export interface GradScalerOptions {
  /** The first scale (2^16). */
  initScale?: number;
  /** Multiplies the scale after growthInterval steps without overflow (2). */
  growth?: number;
  /** Multiplies the scale after an overflow (0.5). */
  backoff?: number;
  growthInterval?: number;
}

export interface GradScalerState {
  scale: number;
  /** Good steps since the last change of scale. */
  growthTracker: number;
}

export class GradScaler {
  readonly growth: number;
  readonly backoff: number;
  readonly growthInterval: number;
  private state: GradScalerState;

  constructor(options: GradScalerOptions = {}) {
    const { initScale = 2 ** 16, growth = 2, backoff = 0.5, growthInterval = 2000 } = options;
    if (!(initScale > 0 && Number.isFinite(initScale))) throw new RangeError(`GradScaler: initScale ${initScale}`);
    if (!(growth > 1)) throw new RangeError(`GradScaler: growth must be > 1, got ${growth}`);
    if (!(backoff > 0 && backoff < 1)) throw new RangeError(`GradScaler: backoff must be in (0, 1), got ${backoff}`);
    if (!(Number.isInteger(growthInterval) && growthInterval > 0)) {
      throw new RangeError(`GradScaler: growthInterval must be a positive integer, got ${growthInterval}`);
    }
    this.growth = growth;
    this.backoff = backoff;
    this.growthInterval = growthInterval;
    this.state = { scale: initScale, growthTracker: 0 };
  }

  get scale(): number {
    return this.state.scale;
  }

  /** The loss to call backward() on. */
  scaleLoss(loss: Tensor): Tensor {
    return aten.mul_Scalar(loss, this.state.scale);
  }

  /**
   * Divides the gradients of `params` by the scale in place and updates the scale (PyTorch's unscale_ then update):
   * returns true when some gradient was inf/NaN, in which case the step must be skipped.
   */
  unscaleAndUpdate(params: Iterable<Tensor>): boolean {
    const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
    const overflow = noGrad(() =>
      tidy(() => {
        const flags = grads.map((g) => {
          g.mul_(1 / this.state.scale);
          return aten.any(aten.logical_not(aten.isfinite(g))).to({ device: "cpu" });
        });
        // one read for all the flags: a CUDA run synchronises once per step, not once per parameter
        return flags.length > 0 && aten.any(aten.stack(flags)).item() !== 0;
      }),
    );
    this.update(overflow);
    return overflow;
  }

  /** The scale's update after a step: backoff on overflow, growth after growthInterval good steps. */
  update(overflow: boolean): void {
    if (overflow) {
      this.state = { scale: this.state.scale * this.backoff, growthTracker: 0 };
    } else if (this.state.growthTracker + 1 >= this.growthInterval) {
      this.state = { scale: this.state.scale * this.growth, growthTracker: 0 };
    } else {
      this.state = { scale: this.state.scale, growthTracker: this.state.growthTracker + 1 };
    }
  }

  stateDict(): GradScalerState {
    return { ...this.state };
  }

  loadStateDict(state: GradScalerState): void {
    if (!(state.scale > 0) || !Number.isInteger(state.growthTracker) || state.growthTracker < 0) {
      throw new RangeError(`GradScaler: not a scaler state: ${JSON.stringify(state)}`);
    }
    this.state = { scale: state.scale, growthTracker: state.growthTracker };
  }
}
