// Training stages: a TrainSpec becomes a train() config whose run folder is the stage folder, so a killed stage
// resumes from its last checkpoint when the run is started again. Importing a pretrained teacher is here too.
import { saveBackbone } from "../../models/index.js";
import { train, type TrainConfig } from "../../train/index.js";
import {
  datasetPath,
  embeddingsFile,
  groupOption,
  headFile,
  loadRunModel,
  modelFile,
  runModel,
  type StageContext,
} from "../context.js";
import type { StageSpec, TrainSpec } from "../plan.js";

function trainConfig(ctx: StageContext, stageId: string, spec: TrainSpec): TrainConfig {
  const { config } = ctx;
  const teacherStage = spec.liveTeacher;
  const idEvery = config[spec.model.role].idEvery;
  return {
    runDir: ctx.folders.dir(stageId),
    model: { ...runModel(ctx, spec.model.architecture), ...(spec.init ? { init: spec.init } : {}) },
    role: spec.model.role,
    losses: spec.losses,
    data: { path: datasetPath(ctx.paths, spec.data), workers: config.workers },
    ...(spec.precomputed && {
      precomputed: Object.fromEntries(
        Object.entries(spec.precomputed).map(([role, stage]) => [role, embeddingsFile(ctx, stage)]),
      ),
    }),
    ...(teacherStage && {
      teacher: { ...runModel(ctx, config.teacher.model), init: modelFile(ctx, teacherStage) },
    }),
    ...(spec.classifiers && {
      classifiers: Object.fromEntries(
        Object.entries(spec.classifiers).map(([role, stage]) => [
          role,
          { path: headFile(ctx, stage), scale: config.margin.s },
        ]),
      ),
    }),
    optimizer: spec.optimizer,
    schedule: spec.schedule,
    steps: spec.steps,
    batchSize: spec.batchSize,
    clipGradNorm: spec.clipGradNorm,
    seed: config.seed,
    device: config.device,
    precision: config.precision,
    syncBatchNorm: config.syncBatchNorm,
    ...(config.threads !== undefined ? { threads: config.threads } : {}),
    checkpointEvery: config.checkpointEvery,
    logEvery: Math.max(1, Math.min(50, Math.floor(spec.steps / 10))),
    // only when set, so that the stages of runs without it keep their fingerprints
    ...(idEvery !== undefined && {
      metrics: {
        idEvery,
        idSample: config.evaluation.idSample,
        ...(ctx.paths.idSet !== null && { idData: ctx.paths.idSet }),
      },
    }),
  };
}

export async function runTrainStage(ctx: StageContext, stageId: string, spec: TrainSpec): Promise<void> {
  const display = ctx.trainProgress?.();
  const result = await train(trainConfig(ctx, stageId, spec), {
    log: display?.log ?? ctx.log,
    ...(display && { progress: display.listener }),
    ...groupOption(ctx),
  });
  if (!result.finished)
    throw new Error(`stage ${stageId}: training stopped at step ${result.step}/${result.totalSteps}`);
}

export function runImportStage(ctx: StageContext, stageId: string, spec: Extract<StageSpec, { kind: "import" }>): void {
  const model = loadRunModel(ctx, spec.model.architecture, spec.file);
  try {
    saveBackbone(modelFile(ctx, stageId), model);
  } finally {
    model.dispose();
  }
}
