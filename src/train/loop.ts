// The training loop: batches from the loader, one step each, and events for the listeners. Randomness: libtorch's
// generator state cannot be saved, so every step starts with torch.manualSeed(deriveSeed(seed, step)) and the
// loader's shuffles and flips come from (seed, epoch): a run resumed from a checkpoint repeats the uninterrupted
// run's steps exactly.
import * as torch from "../torch/index.js";
import { deriveSeed, type FaceLoader, type LoaderPosition } from "../data/index.js";
import type { LossContext } from "../distill/index.js";
import { saveCheckpoint, type CheckpointSidecar, type SidecarName, type TrainState } from "./checkpoint.js";
import type { ResolvedTrainConfig } from "./config.js";
import type { StepEvent, TrainListener, TrainLoop } from "./events.js";
import { trainStep, type StepInputs } from "./step.js";

export interface LoopInputs {
  config: ResolvedTrainConfig;
  state: TrainState;
  step: StepInputs;
  loader: FaceLoader;
  totalSteps: number;
  /** Where the run resumes (null for a new run). */
  resumed: CheckpointSidecar | null;
  /** The loss context's parts that are the same every step (frozen classifiers, precomputed embeddings). */
  fixedContext: LossContext;
  checkpoints: string;
  /** Stop after this step, as an interrupted run. */
  stopAt?: number;
  /** Data-parallel ranks: a batch is each rank's part of a global batch this many times as large (default 1). */
  worldSize?: number;
  /** Whether this process writes checkpoints (default true; in a data-parallel run, rank 0 alone). */
  writesCheckpoints?: boolean;
  log(line: string): void;
}

class Loop implements TrainLoop {
  step: number;
  position: LoaderPosition;
  consecutiveBadSteps: number;
  best: NonNullable<CheckpointSidecar["best"]> | null;
  savedAt = -1;

  constructor(
    private readonly inputs: LoopInputs,
    readonly log: (line: string) => void,
  ) {
    const { resumed } = inputs;
    this.step = resumed?.step ?? 0;
    this.position = resumed?.loader ?? { epoch: 0, index: 0 };
    this.consecutiveBadSteps = resumed?.consecutiveBadSteps ?? 0;
    this.best = resumed?.best ?? null;
  }
  get config() {
    return this.inputs.config;
  }
  get model() {
    return this.inputs.step.model;
  }
  get totalSteps() {
    return this.inputs.totalSteps;
  }
  save(names: SidecarName[]): void {
    const { config, state, checkpoints, writesCheckpoints = true } = this.inputs;
    // every rank sends its slices of the sharded heads; rank 0 writes them whole
    const whole = state.sharded?.gather(state.optimizer) ?? null;
    // the other ranks go on to the next step's gradient averaging, which waits for rank 0 to finish writing
    if (writesCheckpoints) {
      saveCheckpoint(
        checkpoints,
        state,
        {
          step: this.step,
          modelSpec: this.model.spec,
          loader: this.position,
          rng: { seed: config.seed, rule: "torch.manualSeed(deriveSeed(seed, step)) at the start of each step" },
          consecutiveBadSteps: this.consecutiveBadSteps,
          ...(this.best ? { best: this.best } : {}),
        },
        names,
        whole,
      );
    }
    for (const t of [...(whole?.weights.values() ?? []), ...(whole?.optimizer.values() ?? [])]) t.dispose();
    this.savedAt = this.step;
  }
}

/** Runs the steps left, emitting to `listeners` in order; returns the step reached, whether the run finished and
 *  the best evaluation. */
export async function runLoop(
  inputs: LoopInputs,
  listeners: readonly TrainListener[],
): Promise<{ step: number; finished: boolean; best: TrainLoop["best"] }> {
  const { config, loader, totalSteps, stopAt, state } = inputs;
  const loop = new Loop(inputs, inputs.log);
  const afterBackward = listeners.filter((l) => l.afterBackward);
  const stepInputs: StepInputs = {
    ...inputs.step,
    ...(afterBackward.length > 0 && {
      afterBackward: (params, problem) => {
        for (const l of afterBackward) problem = l.afterBackward!(params, loop, problem) || problem;
        return problem;
      },
    }),
  };
  try {
    for (const l of listeners) l.start?.(loop);
    let images = 0;
    let clock = performance.now();
    while (loop.step < totalSteps && loop.step !== stopAt) {
      for await (const batch of loader.epoch()) {
        const epoch = loop.position.epoch;
        loop.position = batch.position;
        const count = batch.labels.size(0) * (inputs.worldSize ?? 1);
        torch.manualSeed(deriveSeed(config.seed, loop.step));
        let outcome;
        try {
          outcome = trainStep(stepInputs, batch.images, {
            ...inputs.fixedContext,
            labels: batch.labels,
            indices: batch.indices,
          });
        } finally {
          batch[Symbol.dispose]();
        }
        const lr = state.scheduler.lastLr()[0]!;
        loop.step += 1;
        state.scheduler.step();
        images += count;
        const step = loop.step;
        let interval: StepEvent["interval"] = null;
        if (outcome.problem === null && (step % config.logEvery === 0 || step === totalSteps)) {
          const now = performance.now();
          interval = { imagesPerSecond: (images * 1000) / (now - clock) };
          [images, clock] = [0, now];
        }
        const event: StepEvent = { step, epoch, images: count, lr, outcome, interval };
        for (const l of listeners) await l.step?.(event, loop);
        if (step >= totalSteps || step === stopAt) break;
      }
    }
    const end = { step: loop.step, finished: loop.step >= totalSteps };
    for (const l of listeners) await l.end?.(end, loop);
    return { ...end, best: loop.best };
  } finally {
    for (const l of listeners) l.close?.();
  }
}
