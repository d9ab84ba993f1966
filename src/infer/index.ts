// Running a model over data: embeddings of a dataset (to .npy files or a tensor), verification of a model on a
// pack, and inference throughput, each on libtorch or onnxruntime (backend.ts).
export {
  embedBatch,
  embedImages,
  extractEmbeddings,
  forEachEmbedding,
  inferenceLoader,
  type EmbedOptions,
  type EmbeddingModel,
  type ExtractOptions,
  type ExtractResult,
} from "./embed.js";
export { INFERENCE_BACKENDS, withInferenceModel, type InferenceBackend } from "./backend.js";
export { verifyModelOnPack, type ModelVerificationOptions } from "./verify-model.js";
export { inferenceSpeed, type SpeedOptions } from "./speed.js";
