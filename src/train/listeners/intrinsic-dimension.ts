// The intrinsic dimension during training as a listener: every `every` steps (and at the end) the model, in eval
// mode, embeds a fixed sample and metrics.jsonl gets `{ step, id }` with the TwoNN estimate of the ID protocol and
// its interval, so that a curve shows how the representation's dimension moves while the model learns (ReFO's
// reverse distillation, for one, is meant to bring the teacher's ID towards the student's).
import type * as torch from "../../torch/index.js";
import type { Backbone } from "../../models/index.js";
import { intrinsicDimension, sampleIndices } from "../../analysis/index.js";
import { Rng, type FaceSource } from "../../data/index.js";
import { embedImages } from "../../infer/index.js";
import type { TrainListener, TrainLoop } from "../events.js";
import type { MetricsLog } from "../metrics.js";

export interface IdTracking {
  /** Measure every this many steps, and at the end. */
  every: number;
  /** The embeddings [N, D] of the fixed sample (the model is in eval mode during the call). */
  embed(model: Backbone): Promise<torch.Tensor>;
  /** Seed of the ID protocol's subsets and interval. */
  seed: number;
}

/** The `id` field of a metrics.jsonl record. */
export interface IdRecord {
  mean: number;
  std: number;
  low: number;
  high: number;
  sampleSize: number;
  smallSample: boolean;
}

/** Tracking on `sample` rows of `source` drawn with `seed` (all of them when it has fewer), read once, here. */
export function sampleTracking(
  source: FaceSource,
  options: { every: number; sample: number; seed: number; batchSize: number },
): IdTracking {
  const count = Math.min(options.sample, source.length);
  const images = Array.from(sampleIndices(source.length, count, new Rng(options.seed)), (i) => source.read(i).image);
  const what = `${source.name} (ID sample)`;
  return {
    every: options.every,
    seed: options.seed,
    // libtorch in the loop's thread: an ONNX export of a model in training every few steps would cost more
    embed: (model) =>
      embedImages(model, what, images, {
        batchSize: options.batchSize,
        flipSum: false,
        workers: 0,
        backend: "libtorch",
      }),
  };
}

export function intrinsicDimensionListener(tracking: IdTracking, metrics: MetricsLog): TrainListener {
  const measure = async (loop: TrainLoop): Promise<void> => {
    const wasTraining = loop.model.training;
    loop.model.eval();
    let embeddings: torch.Tensor;
    try {
      embeddings = await tracking.embed(loop.model);
    } finally {
      loop.model.train(wasTraining);
    }
    try {
      const r = intrinsicDimension(embeddings, { sampleSize: embeddings.shape[0]!, seed: tracking.seed });
      const id: IdRecord = {
        mean: r.mean,
        std: r.std,
        low: r.interval.low,
        high: r.interval.high,
        sampleSize: r.sampleSize,
        smallSample: r.smallSample,
      };
      metrics.append({ step: loop.step, id });
    } finally {
      embeddings.dispose();
    }
  };
  return {
    async step({ step }, loop) {
      if (loop.consecutiveBadSteps === 0 && step % tracking.every === 0) await measure(loop);
    },
    async end({ step, finished }, loop) {
      if (finished && step % tracking.every !== 0) await measure(loop);
    },
  };
}
