// A model on a verification pack, end to end: decode the pack's images, embed them (flip-sum by default, as
// insightface evaluates), L2-normalize and run the pair protocol. The embeddings stay in memory: a pack holds a few thousand pairs.
import * as torch from "../torch/index.js";
import { MemorySource, readVerificationPack } from "../data/index.js";
import type { Backbone } from "../models/index.js";
import { embedBatch, inferenceLoader } from "../train/embed.js";
import { l2Normalize } from "./embeddings.js";
import { pairsOfPack, verifyPairs, type PairProtocolOptions, type PairProtocolResult } from "./pairs.js";

export interface ModelVerificationOptions extends PairProtocolOptions {
  batchSize?: number;
  /** emb(x) + emb(mirrored x) (true). */
  flipSum?: boolean;
  /** Decoding threads (2); 0 decodes in the main thread. */
  workers?: number;
  onBatch?: (done: number, total: number) => void;
}

/** The embeddings [N, D] of encoded images (JPEG/PNG), in order, by `model` in eval mode. */
export async function embedImages(
  model: Backbone,
  name: string,
  images: Uint8Array[],
  { batchSize = 128, flipSum = true, workers = 2, onBatch }: ModelVerificationOptions = {},
): Promise<torch.Tensor> {
  const source = new MemorySource(name, images, new Int32Array(images.length).fill(-1), null);
  const loader = inferenceLoader(model.spec.inputSize, source, { batchSize, workers, layout: "channels_last" });
  const parts: torch.Tensor[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for await (const batch of loader.epoch()) {
      try {
        parts.push(torch.keep(embedBatch(model, batch.images, flipSum)));
      } finally {
        batch[Symbol.dispose]();
      }
      onBatch?.(
        parts.reduce((n, p) => n + p.size(0), 0),
        images.length,
      );
    }
    return torch.tidy(() => torch.cat(parts, 0));
  } finally {
    parts.forEach((p) => p.dispose());
    await loader.close();
    model.train(wasTraining);
  }
}

/** The insightface pair protocol of `model` on the verification pack at `packPath` (.bin). */
export async function verifyModelOnPack(
  model: Backbone,
  packPath: string,
  options: ModelVerificationOptions = {},
): Promise<PairProtocolResult> {
  const pack = readVerificationPack(packPath);
  const embeddings = await embedImages(model, packPath, pack.images, options);
  try {
    return torch.tidy(() => {
      // insightface normalizes the (flip-summed) embeddings: its thresholds 0..4 are squared distances on the sphere
      const { left, right } = pairsOfPack(l2Normalize(embeddings));
      return verifyPairs(left, right, pack.issame, options);
    });
  } finally {
    embeddings.dispose();
  }
}
