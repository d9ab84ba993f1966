// The NaN guard: a skipped step (non-finite loss or gradient) is a warning; maxBadSteps of them in a row stop the
// run with the last good checkpoint kept, and a run none of whose steps trained is a failure, not "done". A float16
// overflow skip is the loss scaler doing its job (it backs off and retries); the loss-scale guard watches those.
import type { TrainListener } from "../events.js";

/** Thrown after `maxBadSteps` consecutive non-finite steps, or when no step of the run trained. */
export class TrainingDivergedError extends Error {
  override name = "TrainingDivergedError";
}

const ADVICE = "Lower optimizer.lr, set clipGradNorm, or check the data and the losses' inputs.";

export function nanGuard(checkpoints: string, lastGood: () => number | null): TrainListener {
  let trained = 0;
  let ran = 0;
  return {
    step({ step, outcome }, loop) {
      ran += 1;
      if (outcome.problem === null) {
        trained += 1;
        loop.consecutiveBadSteps = 0;
        return;
      }
      if (outcome.overflow) {
        loop.log(`warning: step ${step} skipped: ${outcome.problem}`);
        return;
      }
      const bad = (loop.consecutiveBadSteps += 1);
      loop.log(`warning: step ${step} skipped: ${outcome.problem} (${bad} in a row)`);
      if (bad >= loop.config.maxBadSteps) {
        const good = lastGood();
        throw new TrainingDivergedError(
          `training stopped at step ${step}: ${bad} consecutive steps had a non-finite loss or gradient ` +
            `(maxBadSteps ${loop.config.maxBadSteps}). ` +
            (good !== null
              ? `The last good checkpoint (step ${good}) is kept in ${checkpoints}. `
              : "No checkpoint was written yet. ") +
            ADVICE,
        );
      }
    },
    end() {
      if (ran > 0 && trained === 0) {
        throw new TrainingDivergedError(
          `all ${ran} training steps of this run were skipped as non-finite: the model did not train. ${ADVICE}`,
        );
      }
    },
  };
}
