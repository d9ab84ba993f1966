// Inference throughput of a model alone (no decoding), as the results table reports it.
import * as torch from "../torch/index.js";
import type { Backbone } from "../models/index.js";

/** Images per second of inference (eval mode, no gradient) on random batches, over at least `seconds`. */
export function inferenceSpeed(model: Backbone, batchSize: number, seconds = 1): number {
  const size = model.spec.inputSize;
  const wasTraining = model.training;
  model.eval();
  try {
    return torch.noGrad(() =>
      torch.tidy(() => {
        const input = torch.randn([batchSize, 3, size, size]).contiguous("channels_last");
        torch.tidy(() => model.forward(input)); // warm-up
        let images = 0;
        const start = performance.now();
        while (performance.now() - start < seconds * 1000) {
          torch.tidy(() => model.forward(input));
          images += batchSize;
        }
        return (images * 1000) / (performance.now() - start);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}
