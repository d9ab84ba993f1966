// A model on the IJB-B / IJB-C 1:1 template verification protocol, as insightface's eval_ijbc.py runs it: align
// every face of the release with its five landmarks, embed it with flip-sum, weight it by its detector score,
// average per media, sum per template, normalize, and score the template pairs by cosine; TAR at FAR 1e-6..1e-1.
import * as torch from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import { Backbone } from "../models/index.js";
import { imagesToTensor, readAlignedIjbFaces, readIjbRelease, type IjbTarget } from "../data/index.js";
import { verifyTemplates, type RocOptions, type RocSummary } from "../eval/index.js";
import { withInferenceModel } from "./backend.js";
import { embedBatchWith, modelInputSize, type EmbeddingModel, type EmbedOptions } from "./embed.js";

export interface IjbOptions extends Omit<EmbedOptions, "workers">, RocOptions {
  /** IJBC (default) or IJBB: which meta files of the folder to read. */
  target?: IjbTarget;
  /** Multiply each face's embedding by its detector score before pooling (default true, as eval_ijbc.py). */
  qualityWeight?: boolean;
  /** Several ranks (a collective): each embeds every worldSize-th batch, and every rank gets the whole result. */
  group?: ProcessGroup;
}

export interface IjbResult {
  target: IjbTarget;
  folder: string;
  faces: number;
  templates: number;
  flipSum: boolean;
  qualityWeight: boolean;
  /** The template pairs' ROC: TAR at each FAR, EER, AUC, curve. */
  roc: RocSummary;
  /** Every template pair's cosine score, in the pair file's order. */
  scores: Float32Array;
}

/** Evaluates `model` on the IJB release at `folder` (IJB_release/IJBC or /IJBB: its meta/ and loose_crop/). */
export async function evaluateIjb(model: EmbeddingModel, folder: string, options: IjbOptions = {}): Promise<IjbResult> {
  const { target = "IJBC", qualityWeight = true, flipSum = true, batchSize = 128, layout = "channels_last" } = options;
  const release = readIjbRelease(folder, target);
  const { rank, worldSize } = options.group ?? { rank: 0, worldSize: 1 };
  const n = release.images.length;
  const embeddings = torch.keep(torch.zeros([n, model.embeddingSize]));
  try {
    await withInferenceModel(model, { backend: options.backend ?? "auto", batchSize }, async (m) => {
      const size = modelInputSize(m);
      const backbone = m instanceof Backbone ? m : null;
      const wasTraining = backbone?.training ?? false;
      backbone?.eval();
      const read = (start: number) => readAlignedIjbFaces(release, start, Math.min(batchSize, n - start), size);
      // this rank's batches: every worldSize-th from its rank's
      const [first, stride] = [rank * batchSize, worldSize * batchSize];
      // the next batch's photos decode (on sharp's threads) while this one is embedded
      let next: Promise<Uint8Array> | null = first < n ? read(first) : null;
      try {
        for (let start = first; start < n; start += stride) {
          const count = Math.min(batchSize, n - start);
          const pixels: Uint8Array = await next!;
          next = start + stride < n ? read(start + stride) : null;
          const images = imagesToTensor(pixels, count, size, size, layout);
          try {
            const rows = await embedBatchWith(m, images, flipSum);
            torch.tidy(() => void embeddings.narrow(0, start, count).copy_(rows)); // frees the view
            rows.dispose();
          } finally {
            images.dispose();
          }
          options.onBatch?.(Math.min(n, start + count + (worldSize - 1 - rank) * batchSize), n);
        }
      } finally {
        await next?.catch(() => undefined); // a batch read ahead when a failure stopped the loop
        backbone?.train(wasTraining);
      }
    });
    // every row was embedded by one rank, and is zero on the others
    if (worldSize > 1) options.group!.allReduce(embeddings, "sum");
    const { templates, scores, ...roc } = torch.tidy(() =>
      verifyTemplates(embeddings, release.templateIds, release.mediaIds, release.pairs, {
        ...(qualityWeight ? { imageWeights: release.detectorScores } : {}),
        ...(options.fars ? { fars: options.fars } : {}),
        ...(options.curvePoints ? { curvePoints: options.curvePoints } : {}),
      }),
    );
    return { target, folder, faces: n, templates, flipSum, qualityWeight, roc, scores };
  } finally {
    embeddings.dispose();
  }
}
