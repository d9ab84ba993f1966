// The trainer (config-driven runs with checkpoints, resume, NaN guard and metrics) and embedding extraction.
export * from "./config.js";
export { train, TrainingDivergedError, type EvaluationHook, type TrainOptions, type TrainResult } from "./trainer.js";
export { readSidecar, CHECKPOINT_FORMAT, type CheckpointSidecar } from "./checkpoint.js";
export { readMetrics, type MetricsRecord } from "./metrics.js";
export {
  extractEmbeddings,
  embedBatch,
  type EmbeddingModel,
  type ExtractOptions,
  type ExtractResult,
} from "./embed.js";
export { NpyRowWriter, NpyRows } from "./npy-stream.js";
