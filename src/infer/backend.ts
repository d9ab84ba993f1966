// Where facekd's inference runs: libtorch's eager kernels, or the backbone's eval-mode computation exported in
// memory as ONNX (batch norms folded) and run by onnxruntime-node. Neither wins everywhere: on a 2-core EPYC
// (bench/README.md, `onnx`) onnxruntime was 1.6-2.2x faster at batch 1, while libtorch was 1.6-1.8x faster for the
// IResNets at batch 32 and slightly slower for MobileFaceNet. So "auto" measures both on a probe batch of the size
// it will run and keeps the faster. libtorch stays the path for models that do not export.
import * as torch from "../torch/index.js";
import { Backbone, encodeOnnx, OnnxTeacher } from "../models/index.js";
import type { EmbeddingModel } from "./embed.js";

/** "onnxruntime": the backbone exported in memory and run by onnxruntime-node; "libtorch": its own forward;
 *  "auto" (the default): whichever of the two measures faster at the batch size used. */
export type InferenceBackend = "libtorch" | "onnxruntime" | "auto";
export const INFERENCE_BACKENDS = ["auto", "onnxruntime", "libtorch"] as const;

/** One eval-mode forward pass of `model` on `input` (a backbone must be in eval mode), its result freed. */
export async function forwardOnce(model: EmbeddingModel, input: torch.Tensor): Promise<void> {
  if (model instanceof Backbone) torch.noGrad(() => torch.tidy(() => void model.forward(input)));
  else (await model.embed(input)).dispose();
}

// the fastest of `runs` timed passes after one warm-up: the minimum is the least disturbed by other processes
async function millisecondsPerBatch(model: EmbeddingModel, input: torch.Tensor, runs = 3): Promise<number> {
  await forwardOnce(model, input);
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await forwardOnce(model, input);
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Whether the onnxruntime session is faster than the backbone on batches of `batchSize` (probed at <= 16). */
async function onnxruntimeIsFaster(backbone: Backbone, session: OnnxTeacher, batchSize: number): Promise<boolean> {
  const size = backbone.spec.inputSize;
  const n = Math.max(1, Math.min(batchSize, 16));
  const probe = torch.keep(torch.tidy(() => torch.randn([n, 3, size, size]).contiguous("channels_last")));
  const wasTraining = backbone.training;
  backbone.eval();
  try {
    return (await millisecondsPerBatch(session, probe)) < (await millisecondsPerBatch(backbone, probe));
  } finally {
    probe.dispose();
    backbone.train(wasTraining);
  }
}

/**
 * Runs `use` with the model that does `model`'s inference on `backend` for batches of `batchSize`: an onnxruntime
 * session of its current eval-mode weights (closed afterwards), or `model` itself (libtorch, or a model that
 * already is an ONNX one).
 */
export async function withInferenceModel<T>(
  model: EmbeddingModel,
  backend: InferenceBackend,
  batchSize: number,
  use: (model: EmbeddingModel) => Promise<T>,
): Promise<T> {
  if (!(model instanceof Backbone) || backend === "libtorch") return use(model);
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
  let faster: boolean;
  try {
    faster = backend === "onnxruntime" || (await onnxruntimeIsFaster(model, session, batchSize));
    if (faster) return await use(session);
  } finally {
    await session.close();
  }
  return use(model); // after the session is closed, so that its threads leave the cores to libtorch
}
