// One runner per kind of stage, in a table keyed by kind: a stage kind without a runner does not compile.
import type { StageContext } from "../context.js";
import type { ModelStageId, SpecOf, Stage, StageKind } from "../stage-types.js";
import { runDataStage } from "./data-stage.js";
import { runEmbedStage } from "./embed-stage.js";
import { runEvaluateStage } from "./evaluate-stage.js";
import { runResultsStage } from "./results-stage.js";
import { runImportStage, runTrainStage } from "./train-stage.js";

export interface StageRun<K extends StageKind> {
  ctx: StageContext;
  stage: Stage<SpecOf<K>>;
  /** Every stage of the run, in plan order. */
  stages: readonly Stage[];
  /** Marks the stage finished before its runner returns (the results stage lists itself as done). */
  markDone(): void;
}

export type StageRunner<K extends StageKind> = (run: StageRun<K>) => Promise<void> | void;

function modelStage(stages: readonly Stage[], id: ModelStageId): Stage {
  return stages.find((s) => s.id === id)!;
}

export const STAGE_RUNNERS: { [K in StageKind]: StageRunner<K> } = {
  data: ({ ctx }) => runDataStage(ctx),
  train: ({ ctx, stage }) => runTrainStage(ctx, stage.id, stage.spec),
  import: ({ ctx, stage }) => runImportStage(ctx, stage.id, stage.spec),
  // the file is used where it is, a fingerprinted input of the run (inputs.ts)
  onnx: () => undefined,
  embed: ({ ctx, stage, stages }) =>
    runEmbedStage(ctx, stage.id, stage.spec, modelStage(stages, stage.spec.modelStage)),
  evaluate: async ({ ctx, stage, stages }) =>
    void (await runEvaluateStage(ctx, stage.id, stage.spec, modelStage(stages, stage.spec.modelStage))),
  results: async ({ ctx, stages, markDone }) => {
    markDone();
    await runResultsStage(ctx, stages);
  },
};

/** Runs `stage` with the runner of its kind. */
export function runStage<K extends StageKind>(run: StageRun<K>): Promise<void> | void {
  // TypeScript cannot correlate the table's key with the stage's kind: the table's type guarantees the match
  return (STAGE_RUNNERS[run.stage.spec.kind as K] as StageRunner<K>)(run);
}
