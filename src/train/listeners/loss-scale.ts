// The loss-scale guard for float16 training. The scaler halves its scale at each overflow; a scale that keeps
// falling means the gradients overflow float16 even unscaled (a diverging run, an exploding loss, bad inputs),
// the most reported float16 failure of arcface_torch (the loss turns NaN, the scale reaches 0). The guard warns
// once when the scale drops below 1 and stops the run, keeping the last good checkpoint, below `minScale`.
import type { GradScaler } from "../../torch/index.js";
import type { TrainListener } from "../events.js";
import { TrainingDivergedError } from "./nan-guard.js";

const ADVICE =
  "Lower optimizer.lr, set clipGradNorm (arcface_torch: 5), train with precision: bfloat16 (float32's range, " +
  "no loss scaling), or check the data (`facekd data verify`) and the losses' inputs.";

export function lossScaleGuard(scaler: GradScaler, minScale: number, lastGood: () => number | null): TrainListener {
  let warned = false;
  return {
    step({ step, outcome }, loop) {
      if (!outcome.overflow) return;
      const { scale } = scaler;
      if (scale < minScale) {
        const good = lastGood();
        throw new TrainingDivergedError(
          `training stopped at step ${step}: the float16 loss scale collapsed to ${scale} (below ${minScale}): ` +
            "the gradients overflow float16 however small the scale. " +
            (good !== null ? `The last good checkpoint (step ${good}) is kept. ` : "") +
            ADVICE,
        );
      }
      if (scale < 1 && !warned) {
        warned = true;
        loop.log(`warning: the float16 loss scale fell to ${scale} at step ${step}. ${ADVICE}`);
      }
    },
  };
}
