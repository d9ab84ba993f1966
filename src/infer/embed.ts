// Embedding extraction: a model run once over a dataset, in dataset order, into `<out>` (.npy float32 [N, D],
// streamed batch by batch), `<stem>.labels.npy` (int64 [N], -1 for unlabeled data) and `<stem>.json` (what made
// them). Row i is the dataset's sample at position i: the index the precomputed-embedding losses look it up by.
// Sharded across the ranks of a process group, each rank embeds its part of every batch and writes its rows into
// the one file at their offsets.
import * as torch from "../torch/index.js";

import { FaceLoader, MemorySource, type BatchLayout, type FaceSource } from "../data/index.js";
import { Backbone, type OnnxTeacher } from "../models/index.js";
import { NpyRowsWriter, writeJson } from "../io/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import { besideOnnx, withInferenceModel, type InferenceBackend } from "./backend.js";

export interface ExtractOptions extends Omit<EmbedOptions, "shard"> {
  /** The .npy file to write; its stem names the labels and info files beside it. */
  out: string;
  /** Share the work with the ranks of this group: every rank calls extractEmbeddings alike. */
  group?: ProcessGroup;
}

export interface ExtractResult {
  embeddings: string;
  labels: string;
  info: string;
  count: number;
  dim: number;
}

/** A model that embeds faces: a facekd backbone, or any ONNX embedding model through onnxruntime. */
export type EmbeddingModel = Backbone | OnnxTeacher;

/** Every sample of `source` once, in order, unflipped, at `size` x `size` pixels. */
export function inferenceLoader(
  size: number,
  source: FaceSource,
  {
    batchSize,
    workers,
    layout,
    shard,
  }: Pick<Required<EmbedOptions>, "batchSize" | "workers" | "layout"> & Pick<EmbedOptions, "shard">,
): FaceLoader {
  return new FaceLoader(source, {
    ...(shard && { shard }),
    batchSize,
    imageSize: [size, size],
    shuffle: false,
    flip: false,
    dropLast: false,
    workers,
    layout,
  });
}

/**
 * The embedding of a batch, or with `flipSum` the sum of the embeddings of it and of its mirror image. The batch
 * goes to the model's device and the embeddings come back to the CPU, where files and metrics read them.
 */
export function embedBatch(model: Backbone, batch: torch.Tensor, flipSum: boolean): torch.Tensor {
  return torch.noGrad(() =>
    torch.tidy(() => {
      const device = model.device;
      const images = batch.device === device ? batch : batch.to({ device });
      let e = model.forward(images);
      if (flipSum) {
        const layout = images.isContiguous("channels_last") ? "channels_last" : "contiguous";
        e = e.add(model.forward(images.flip(3).contiguous(layout)));
      }
      return e.device === "cpu" ? e : e.to({ device: "cpu" });
    }),
  );
}

const DEFAULT_BATCH = 128;

export interface EmbedOptions {
  /** Images per forward (128). */
  batchSize?: number;
  /** emb(x) + emb(mirrored x), insightface's test-time embedding. */
  flipSum?: boolean;
  /** Decoding threads (2); 0 decodes in the main thread. */
  workers?: number;
  layout?: BatchLayout;
  /** Where a backbone runs ("auto": by the batch size); see backend.ts. */
  backend?: InferenceBackend;
  /** Called after each batch with the rows done so far (estimated over all ranks when sharded). */
  onBatch?: (done: number, total: number) => void;
  /** Embed this rank's part of each batch only (the loader's shard). */
  shard?: { rank: number; worldSize: number };
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

/** A batch's embeddings, labels and dataset positions; all are freed after the call (clone what you keep). */
export type EmbeddingSink = (embeddings: torch.Tensor, labels: torch.Tensor, indices: torch.Tensor) => void;

/**
 * Runs `model` (a backbone in eval mode) over every sample of `source` (or this rank's shard of it), in order,
 * handing each batch to `sink`. A backbone's training mode is restored afterwards. While onnxruntime runs the model,
 * libtorch (and so `sink`) runs on one thread (see besideOnnx).
 */
export function forEachEmbedding(
  model: EmbeddingModel,
  source: FaceSource,
  options: EmbedOptions,
  sink: EmbeddingSink,
): Promise<void> {
  const plan = { backend: options.backend ?? "auto", batchSize: options.batchSize ?? DEFAULT_BATCH };
  return withInferenceModel(model, plan, (m) => embedAll(m, source, options, sink));
}

/** The side in pixels of the square images `model` takes. */
export function modelInputSize(model: EmbeddingModel): number {
  return model instanceof Backbone ? model.spec.inputSize : model.inputSize;
}

/** embedBatch() for either kind of model (an ONNX one answers after an await); the caller frees the result. */
export function embedBatchWith(model: EmbeddingModel, images: torch.Tensor, flipSum: boolean): Promise<torch.Tensor> {
  return model instanceof Backbone
    ? Promise.resolve(embedBatch(model, images, flipSum))
    : embedOnnx(model, images, flipSum);
}

async function embedAll(
  model: EmbeddingModel,
  source: FaceSource,
  { batchSize = DEFAULT_BATCH, flipSum = false, workers = 2, layout = "channels_last", onBatch, shard }: EmbedOptions,
  sink: EmbeddingSink,
): Promise<void> {
  const backbone = model instanceof Backbone ? model : null;
  const loader = inferenceLoader(modelInputSize(model), source, { batchSize, workers, layout, shard });
  const ranks = shard?.worldSize ?? 1;
  const wasTraining = backbone?.training ?? false;
  backbone?.eval();
  let done = 0;
  try {
    await besideOnnx(model, async () => {
      for await (const batch of loader.epoch()) {
        try {
          const rows = await embedBatchWith(model, batch.images, flipSum);
          try {
            torch.tidy(() => sink(rows, batch.labels, batch.indices));
          } finally {
            rows.dispose();
          }
          done += batch.labels.size(0);
        } finally {
          batch[Symbol.dispose]();
        }
        onBatch?.(Math.min(done * ranks, source.length), source.length);
      }
    });
  } finally {
    await loader.close();
    backbone?.train(wasTraining);
  }
}

/**
 * Runs `model` (in eval mode) over every sample of `source`, in order, into the files of `options.out`. With a
 * group, rank 0 sizes the files, every rank writes its rows at their offsets, and rank 0 commits them.
 */
export async function extractEmbeddings(
  model: EmbeddingModel,
  source: FaceSource,
  options: ExtractOptions,
): Promise<ExtractResult> {
  const { out, flipSum = false, group } = options;
  const stem = out.replace(/\.npy$/, "");
  const result: ExtractResult = {
    embeddings: out,
    labels: `${stem}.labels.npy`,
    info: `${stem}.json`,
    count: source.length,
    dim: model.embeddingSize,
  };
  const files = [result.embeddings, result.labels];
  const lead = (group?.rank ?? 0) === 0;
  if (lead) {
    NpyRowsWriter.create(result.embeddings, "float32", [source.length, model.embeddingSize]);
    NpyRowsWriter.create(result.labels, "int64", [source.length]);
  }
  group?.barrier();
  const [rows, labels] = files.map((f) => new NpyRowsWriter(f)) as [NpyRowsWriter, NpyRowsWriter];
  try {
    const shard = group && { rank: group.rank, worldSize: group.worldSize };
    await forEachEmbedding(model, source, { ...options, ...(shard && { shard }) }, (embeddings, batchLabels, at) => {
      // an unshuffled batch holds consecutive dataset positions
      const row = at.narrow(0, 0, 1).item();
      rows.write(row, embeddings);
      labels.write(row, batchLabels);
    });
  } catch (error) {
    if (lead) files.forEach((f) => NpyRowsWriter.discard(f));
    throw error;
  } finally {
    rows.close();
    labels.close();
  }
  const written = torch.tidy(() => {
    const count = torch.tensor([rows.written], { dtype: "int64" });
    return (group?.allReduce(count) ?? count).item();
  });
  if (lead) {
    if (written !== source.length) {
      files.forEach((f) => NpyRowsWriter.discard(f));
      throw new Error(`${out}: ${written} rows written of the ${source.length} declared; nothing was kept`);
    }
    files.forEach((f) => NpyRowsWriter.commit(f));
    const info = {
      source: source.name,
      model: model instanceof Backbone ? model.spec : { onnx: model.file, input: model.input },
      count: result.count,
      dim: result.dim,
      flipSum,
      rows: "dataset positions 0..N-1",
    };
    writeJson(result.info, info);
  }
  group?.barrier(); // the files are in place when any rank returns
  return result;
}

/** embedImages()'s options: with a group, each rank embeds its share and every rank gets all the rows. */
export interface EmbedImagesOptions extends Omit<EmbedOptions, "shard"> {
  group?: ProcessGroup;
}

/**
 * The (flip-summed by default) embeddings [N, D] of encoded `images`, in order; `name` names them in errors. With a
 * group of several ranks (a collective), each rank embeds its part of every batch and all get every row.
 */
export async function embedImages(
  model: EmbeddingModel,
  name: string,
  images: Uint8Array[],
  { group, ...options }: EmbedImagesOptions = {},
): Promise<torch.Tensor> {
  const source = new MemorySource(name, images, new Int32Array(images.length).fill(-1), null);
  const shard = group !== undefined && group.worldSize > 1 ? { rank: group.rank, worldSize: group.worldSize } : null;
  const parts: torch.Tensor[] = [];
  const positions: torch.Tensor[] = [];
  try {
    const embedOptions = { flipSum: true, ...options, ...(shard && { shard }) };
    await forEachEmbedding(model, source, embedOptions, (e, _labels, indices) => {
      parts.push(torch.keep(e.clone()));
      positions.push(torch.keep(indices.to("int64")));
    });
    return torch.tidy(() => {
      const rows = parts.length > 0 ? torch.cat(parts, 0) : torch.zeros([0, model.embeddingSize]);
      if (shard === null) return rows;
      const at = positions.length > 0 ? torch.cat(positions, 0) : torch.zeros([0], { dtype: "int64" });
      return torch.gatherRows(group!, rows, at, images.length);
    });
  } finally {
    [...parts, ...positions].forEach((p) => p.dispose());
  }
}
