// Embedding extraction: a model run once over a dataset, in dataset order, into `<out>` (.npy float32 [N, D],
// streamed batch by batch), `<stem>.labels.npy` (int64 [N], -1 for unlabeled data) and `<stem>.json` (what made
// them). Row i is the dataset's sample at position i: the index the precomputed-embedding losses look it up by.
import * as torch from "../torch/index.js";
import { FaceLoader, type BatchLayout, type FaceSource } from "../data/index.js";
import type { Backbone } from "../models/index.js";
import { writeNpy } from "../models/index.js";
import { writeJsonAtomically } from "./json-file.js";
import { NpyRowWriter } from "./npy-stream.js";

export interface ExtractOptions {
  /** The .npy file to write; its stem names the labels and info files beside it. */
  out: string;
  batchSize?: number;
  /** emb(x) + emb(mirrored x), insightface's test-time embedding (false). */
  flipSum?: boolean;
  /** Decoding threads (2). */
  workers?: number;
  layout?: BatchLayout;
  /** Called after each batch with the rows done so far. */
  onBatch?: (done: number, total: number) => void;
}

export interface ExtractResult {
  embeddings: string;
  labels: string;
  info: string;
  count: number;
  dim: number;
}

/** Every sample of `source` once, in order, unflipped, at the model's input size. */
export function inferenceLoader(
  model: Backbone,
  source: FaceSource,
  { batchSize, workers, layout }: { batchSize: number; workers: number; layout: BatchLayout },
): FaceLoader {
  const size = model.spec.inputSize;
  return new FaceLoader(source, {
    batchSize,
    imageSize: [size, size],
    shuffle: false,
    flip: false,
    dropLast: false,
    workers,
    layout,
  });
}

/** The embedding of a batch, or with `flipSum` the sum of the embeddings of it and of its mirror image. */
export function embedBatch(model: Backbone, images: torch.Tensor, flipSum: boolean): torch.Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const e = model.forward(images);
      if (!flipSum) return e;
      const layout = images.isContiguous("channels_last") ? "channels_last" : "contiguous";
      return e.add(model.forward(images.flip(3).contiguous(layout)));
    }),
  );
}

/** Runs `model` (in eval mode) over every sample of `source`, in order. */
export async function extractEmbeddings(
  model: Backbone,
  source: FaceSource,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const { out, batchSize = 128, flipSum = false, workers = 2, layout = "channels_last" } = options;
  const stem = out.replace(/\.npy$/, "");
  const result: ExtractResult = {
    embeddings: out,
    labels: `${stem}.labels.npy`,
    info: `${stem}.json`,
    count: source.length,
    dim: model.embeddingSize,
  };
  const loader = inferenceLoader(model, source, { batchSize, workers, layout });
  const writer = new NpyRowWriter(out, source.length, model.embeddingSize);
  const labels = new BigInt64Array(source.length);
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch()) {
      try {
        torch.tidy(() => writer.append(embedBatch(model, batch.images, flipSum)));
        labels.set(Array.from(batch.labels.toNumbers(), BigInt), writer.written - batch.labels.size(0));
      } finally {
        batch[Symbol.dispose]();
      }
      options.onBatch?.(writer.written, source.length);
    }
    writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  } finally {
    await loader.close();
    model.train(wasTraining);
  }
  torch.tidy(() => writeNpy(result.labels, torch.tensor(labels, { dtype: "int64" })));
  const info = {
    source: source.name,
    model: model.spec,
    count: result.count,
    dim: result.dim,
    flipSum,
    rows: "dataset positions 0..N-1",
  };
  writeJsonAtomically(result.info, info);
  return result;
}
