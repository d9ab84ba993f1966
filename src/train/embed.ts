// Embedding extraction: a model run once over a dataset, in dataset order, into `<out>` (.npy float32 [N, D],
// streamed batch by batch), `<stem>.labels.npy` (int64 [N], -1 for unlabeled data) and `<stem>.json` (what made
// them). Row i is the dataset's sample at position i: the index the precomputed-embedding losses look it up by.
import * as torch from "../torch/index.js";
import { FaceLoader, type BatchLayout, type FaceSource } from "../data/index.js";
import { Backbone, writeNpy, type OnnxTeacher } from "../models/index.js";
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

/** A model extractEmbeddings runs: a facekd backbone, or any ONNX embedding model through onnxruntime. */
export type EmbeddingModel = Backbone | OnnxTeacher;

/** Every sample of `source` once, in order, unflipped, at `size` x `size` pixels. */
export function inferenceLoader(
  size: number,
  source: FaceSource,
  { batchSize, workers, layout }: { batchSize: number; workers: number; layout: BatchLayout },
): FaceLoader {
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

// onnxruntime runs outside libtorch, so the batch's embeddings come back after an await
async function embedOnnx(model: OnnxTeacher, images: torch.Tensor, flipSum: boolean): Promise<torch.Tensor> {
  const e = await model.embed(images);
  if (!flipSum) return e;
  const flipped = torch.keep(torch.noGrad(() => images.flip(3)));
  try {
    const f = await model.embed(flipped);
    e.add_(f);
    f.dispose();
    return e;
  } finally {
    flipped.dispose();
  }
}

/** Runs `model` (a backbone in eval mode) over every sample of `source`, in order. */
export async function extractEmbeddings(
  model: EmbeddingModel,
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
  const [backbone, onnx] = model instanceof Backbone ? [model, null] : [null, model];
  const loader = inferenceLoader(backbone?.spec.inputSize ?? onnx!.inputSize, source, { batchSize, workers, layout });
  const writer = new NpyRowWriter(out, source.length, model.embeddingSize);
  const labels = new BigInt64Array(source.length);
  const wasTraining = backbone?.training ?? false;
  backbone?.eval();
  try {
    for await (const batch of loader.epoch()) {
      try {
        const rows = backbone
          ? embedBatch(backbone, batch.images, flipSum)
          : await embedOnnx(onnx!, batch.images, flipSum);
        torch.tidy(() => writer.append(rows));
        rows.dispose();
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
    backbone?.train(wasTraining);
  }
  torch.tidy(() => writeNpy(result.labels, torch.tensor(labels, { dtype: "int64" })));
  const info = {
    source: source.name,
    model: backbone?.spec ?? { onnx: onnx!.file, input: onnx!.input },
    count: result.count,
    dim: result.dim,
    flipSum,
    rows: "dataset positions 0..N-1",
  };
  writeJsonAtomically(result.info, info);
  return result;
}
