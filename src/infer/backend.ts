// Where facekd's inference runs. A backbone's eval-mode computation, exported in memory as ONNX (batch norms folded),
// runs on onnxruntime-node by default, which fuses conv + bias + activation and plans its memory once: at batch 1 it
// beats libtorch's eager kernels on the IResNets (1.3-1.7x on a 2-core EPYC, bench/README.md, `onnx`), while libtorch
// measured faster on MobileFaceNet; the default stays one rule, since choosing by timing made runs differ. libtorch
// stays the path for models that do not export and for anything that needs gradients.
import * as torch from "../torch/index.js";
import { Backbone, encodeOnnx, OnnxTeacher } from "../models/index.js";
import type { EmbeddingModel } from "./embed.js";

/** "onnxruntime": the backbone exported in memory and run by onnxruntime-node; "libtorch": its own forward;
 *  "auto" (the default): onnxruntime when the backbone exports, else libtorch. */
export type InferenceBackend = "libtorch" | "onnxruntime" | "auto";
export const INFERENCE_BACKENDS = ["auto", "onnxruntime", "libtorch"] as const;

/**
 * Runs `use` with the model that does `model`'s inference on `backend`: an onnxruntime session of its current
 * eval-mode weights (closed afterwards), or `model` itself (libtorch, or a model that already is an ONNX one).
 */
export async function withInferenceModel<T>(
  model: EmbeddingModel,
  backend: InferenceBackend,
  use: (model: EmbeddingModel) => Promise<T>,
): Promise<T> {
  if (!(model instanceof Backbone) || backend === "libtorch") return use(model);
  // onnxruntime runs here on the CPU: a model placed on a GPU stays in libtorch unless onnxruntime is asked for
  if (backend === "auto" && model.device !== "cpu") return use(model);
  let bytes: Uint8Array;
  try {
    bytes = encodeOnnx(model).bytes;
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
