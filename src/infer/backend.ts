// Where facekd's inference runs. A backbone's eval-mode computation, exported in memory as ONNX (batch norms folded),
// runs faster on onnxruntime-node than on libtorch's eager kernels: within noise at batch 32, many times at batch 1
// on a 2-core EPYC (bench/README.md, `onnx`), where onnxruntime fuses conv + bias + activation and plans its
// memory once. libtorch stays the path for models that do not export and for anything that needs gradients.
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
