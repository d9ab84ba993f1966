// The checkpoint policy: every checkpointEvery steps, at a requested stop and at the end, but never during a run of
// skipped steps, so that the last checkpoint written stays the last good one.
import type { TrainListener } from "../events.js";

export function checkpointListener(stopAt: number | undefined): TrainListener {
  return {
    step({ step }, loop) {
      if (loop.consecutiveBadSteps > 0 || loop.savedAt === step) return;
      if (step % loop.config.checkpointEvery === 0 || step === stopAt) loop.save(["last"]);
    },
    end({ step, finished }, loop) {
      if (finished && loop.savedAt !== step) loop.save(["last"]);
    },
  };
}
