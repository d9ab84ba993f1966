// Inference throughput of a model alone (no decoding), as the results table reports it.
import * as torch from "../torch/index.js";
import { Backbone, type OnnxTeacher } from "../models/index.js";
import { besideOnnx, withInferenceModel, type InferenceBackend } from "./backend.js";
import type { EmbeddingModel } from "./embed.js";

export interface SpeedOptions {
  /** Measure for at least this long (1 s). */
  seconds?: number;
  /** Where the backbone runs, as embedding extraction runs it ("auto"). */
  backend?: InferenceBackend;
}

/** Images per second of inference (eval mode, no gradient) on random batches, over at least `seconds`. */
export async function inferenceSpeed(
  model: EmbeddingModel,
  batchSize: number,
  { seconds = 1, backend = "auto" }: SpeedOptions = {},
): Promise<number> {
  const backbone = model instanceof Backbone ? model : null;
  const size = backbone?.spec.inputSize ?? (model as OnnxTeacher).inputSize;
  const wasTraining = backbone?.training ?? false;
  backbone?.eval();
  try {
    return await withInferenceModel(model, { backend, batchSize }, async (m) => {
      // random images as the engine takes them (an ONNX model's layout), as the loaders can deliver them
      const format = m instanceof Backbone ? "channels_last" : m.memoryFormat;
      const device = backbone?.device ?? "cpu";
      const input = torch.keep(
        torch.tidy(() => torch.randn([batchSize, 3, size, size], { device }).contiguous(format)),
      );
      try {
        const step =
          m instanceof Backbone
            ? () => Promise.resolve(torch.noGrad(() => torch.tidy(() => forwardAndWait(m, input))))
            : async () => (await m.embed(input)).dispose();
        return await besideOnnx(m, async () => {
          await step(); // warm-up
          let images = 0;
          const start = performance.now();
          while (performance.now() - start < seconds * 1000) {
            await step();
            images += batchSize;
          }
          return (images * 1000) / (performance.now() - start);
        });
      } finally {
        input.dispose();
      }
    });
  } finally {
    backbone?.train(wasTraining);
  }
}

// Reading one value waits for a GPU's queued kernels: without it only their launch would be timed.
function forwardAndWait(model: Backbone, input: torch.Tensor): void {
  const out = model.forward(input);
  if (out.device !== "cpu") out.sum().item();
}
