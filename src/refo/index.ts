// ReFO / ReFO+ (Rethinking Feature-based Knowledge Distillation for Face Recognition, CVPR 2023) as one resumable
// run of stages, with its baselines, evaluation, intrinsic gap and report.
export {
  BASELINE_NAMES,
  refoConfigSchema,
  resolveRefoConfig,
  type RefoConfig,
  type RefoConfigInput,
} from "./config.js";
export { planStages, widen, type Stage, type StageSpec, type PlannedModel, type TrainSpec } from "./plan.js";
export { runRefo, type RefoOptions, type RefoResult, type PlannedStage } from "./run.js";
export { runSweep, type SweepOptions, type SweepResult, type SweepPointRun } from "./sweep.js";
export { sweepPoints, type SweepPoint, type SweepValue } from "./sweep-grid.js";
