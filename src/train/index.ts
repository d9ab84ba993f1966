// The trainer (config-driven runs with checkpoints, resume, NaN guard and metrics) and the listeners of its loop.
export * from "./config.js";
export { train, type TrainOptions, type TrainResult } from "./trainer.js";
export type { StepEvent, TrainListener, TrainLoop } from "./events.js";
export { TrainingDivergedError } from "./listeners/nan-guard.js";
export type { EvaluationHook } from "./listeners/evaluation.js";
export { intrinsicDimensionListener, type IdTracking, type IdRecord } from "./listeners/intrinsic-dimension.js";
export { describeStep, progressLines } from "./listeners/progress.js";
export { readSidecar, CHECKPOINT_FORMAT, type CheckpointSidecar } from "./checkpoint.js";
export { readMetrics, type MetricsRecord } from "./metrics.js";
export { loadClassifier, type Classifier } from "./classifiers.js";
