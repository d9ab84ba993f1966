// The training loop's events and what its listeners see. The loop (loop.ts) only runs steps and emits; the NaN
// guard, metrics, checkpoints, evaluation and progress are listeners (listeners/), as are whatever a launcher adds
// (gradient synchronisation through afterBackward, ID tracking through step).
import type * as torch from "../torch/index.js";
import type { Backbone } from "../models/index.js";
import type { LoaderPosition } from "../data/index.js";
import type { CheckpointSidecar, SidecarName } from "./checkpoint.js";
import type { ResolvedTrainConfig } from "./config.js";
import type { StepOutcome } from "./step.js";

/** The run as the listeners see and steer it. */
export interface TrainLoop {
  readonly config: ResolvedTrainConfig;
  readonly model: Backbone;
  readonly totalSteps: number;
  /** Steps completed. */
  readonly step: number;
  /** The loader position of the next batch. */
  readonly position: LoaderPosition;
  /** Non-finite steps in a row (the NaN guard keeps it; a checkpoint records it). */
  consecutiveBadSteps: number;
  /** The best evaluation so far. */
  best: NonNullable<CheckpointSidecar["best"]> | null;
  /** The step of the last checkpoint written. */
  readonly savedAt: number;
  /** Writes a checkpoint of the current step under the given sidecar names. */
  save(names: SidecarName[]): void;
  /** Warnings and progress lines. */
  log(line: string): void;
}

export interface StepEvent {
  /** The step just completed (1-based). */
  step: number;
  /** The epoch its batch came from. */
  epoch: number;
  /** Images in its batch (the global batch, over all data-parallel ranks). */
  images: number;
  /** The learning rate it used. */
  lr: number;
  outcome: StepOutcome;
  /** Set when this step ends a log interval (every logEvery steps and the last; never a skipped step): the
   *  throughput since the previous one. */
  interval: { imagesPerSecond: number } | null;
}

export interface TrainListener {
  /** Before the first step (after a resume, at the resumed step). */
  start?(loop: TrainLoop): void;
  /** Between backward and the optimizer step, with the trained parameters: gradient synchronisation goes here
   *  (float16's gradients are still scaled: the trainer unscales them after these hooks). Called on every step, a
   *  skipped one too (`problem` says why so far; then backward did not run), so that collectives stay matched across
   *  ranks. Returning a reason skips the step as non-finite. */
  afterBackward?(params: readonly torch.nn.Parameter[], loop: TrainLoop, problem: string | null): string | null | void;
  /** After each step, skipped or not, in listener order. */
  step?(event: StepEvent, loop: TrainLoop): void | Promise<void>;
  /** After an evaluation (the model is back in training mode). */
  evaluation?(event: { step: number; results: Record<string, number> }, loop: TrainLoop): void;
  /** After the loop, whether it finished or was stopped (not when it failed). */
  end?(event: { step: number; finished: boolean }, loop: TrainLoop): void | Promise<void>;
  /** Always, last: release what `start` acquired. */
  close?(): void;
}
