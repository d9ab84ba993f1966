// Running a model over data: embeddings of a dataset (to .npy files or a tensor), verification of a model on a
// pack or an IJB-B/C release, and inference throughput, each on libtorch or onnxruntime (backend.ts).
export {
  embedBatch,
  embedImages,
  extractEmbeddings,
  forEachEmbedding,
  inferenceLoader,
  embedBatchWith,
  modelInputSize,
  type EmbedOptions,
  type EmbedImagesOptions,
  type EmbeddingModel,
  type ExtractOptions,
  type ExtractResult,
} from "./embed.js";
export {
  AUTO_LIBTORCH_BATCH,
  INFERENCE_BACKENDS,
  withInferenceModel,
  type InferenceBackend,
  type InferencePlan,
} from "./backend.js";
export { verifyModelOnPack, type ModelVerificationOptions } from "./verify-model.js";
export { evaluateIjb, type IjbOptions, type IjbResult } from "./ijb.js";
export { inferenceSpeed, type SpeedOptions } from "./speed.js";
