// Where facekd's inference runs: libtorch's eval-mode forward, or the backbone exported in memory as ONNX (batch
// norms folded, PReLUs as depthwise convolutions: ExportOptions.prelu) on onnxruntime-node, which fuses conv + bias +
// activation in its blocked layout and plans its memory once. Neither wins everywhere (bench/README.md, `onnx`,
// 2-core EPYC, idle): onnxruntime ran mbf 1.7-1.9x, iresnet18 1.5-2.3x and iresnet50 1.2-1.8x libtorch at batches 2
// to 8; at batch 32 mbf 1.2-1.4x but iresnet50 0.7-1.1x. The default `auto` therefore chooses by the batch size: a
// rule rather than a timing, so that runs stay reproducible. libtorch stays the path for models that do not export
// and for anything that needs gradients.
import * as torch from "../torch/index.js";
import { Backbone, encodeOnnx, OnnxTeacher } from "../models/index.js";
import type { EmbeddingModel } from "./embed.js";

/** "onnxruntime": the backbone exported in memory and run by onnxruntime-node; "libtorch": its own forward;
 *  "auto" (the default): libtorch from batch AUTO_LIBTORCH_BATCH on, onnxruntime below it when the backbone exports. */
export type InferenceBackend = "libtorch" | "onnxruntime" | "auto";
export const INFERENCE_BACKENDS = ["auto", "onnxruntime", "libtorch"] as const;

/** The batch size from which `auto` runs a backbone in libtorch. */
export const AUTO_LIBTORCH_BATCH = 32;

/** Where and in which batches a model's inference runs. */
export interface InferencePlan {
  backend: InferenceBackend;
  batchSize: number;
}

/**
 * Runs `use` with the model that does `model`'s inference as `plan` says: an onnxruntime session of its current
 * eval-mode weights (closed afterwards), or `model` itself (libtorch, or a model that already is an ONNX one).
 */
export async function withInferenceModel<T>(
  model: EmbeddingModel,
  { backend, batchSize }: InferencePlan,
  use: (model: EmbeddingModel) => Promise<T>,
): Promise<T> {
  if (!(model instanceof Backbone) || backend === "libtorch") return use(model);
  // onnxruntime runs here on the CPU: a model placed on a GPU stays in libtorch unless onnxruntime is asked for
  if (backend === "auto" && (model.device !== "cpu" || batchSize >= AUTO_LIBTORCH_BATCH)) return use(model);
  let bytes: Uint8Array;
  try {
    // PReLUs as depthwise convolutions, which onnxruntime keeps in its blocked layout (ExportOptions.prelu)
    bytes = encodeOnnx(model, { prelu: "convs" }).bytes;
  } catch (error) {
    if (backend === "auto") return use(model);
    throw new Error(`inference backend 'onnxruntime': ${(error as Error).message}; use the 'libtorch' backend`, {
      cause: error,
    });
  }
  const session = await OnnxTeacher.fromBytes(bytes, `${model.spec.name} (in-memory export)`);
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

/**
 * Runs `loop`, which runs `model` batch after batch with libtorch's own work in between (assembling batches,
 * flipping, copying), with libtorch on one thread when `model` is an ONNX model. libgomp (libtorch's OpenMP) keeps
 * its workers spinning for milliseconds after every parallel op, so the next onnxruntime run starts with a core
 * taken: a channels_last batch converted by libtorch before each run held mbf at batch 1 to 0.43x a bare
 * `session.run`, and to 0.98x with libtorch on one thread (bench/README.md, `onnx`). Switching costs milliseconds:
 * once per loop, not per batch. The work between runs is light copying, which one thread does as fast.
 */
export function besideOnnx<T>(model: EmbeddingModel, loop: () => Promise<T>): Promise<T> {
  return model instanceof Backbone ? loop() : torch.withNumThreads(1, loop);
}
