// A model on the IJB-B / IJB-C 1:1 template verification protocol, as insightface's eval_ijbc.py runs it: align
// every face of the release with its five landmarks, embed it with flip-sum, weight it by its detector score,
// average per media, sum per template, normalize, and score the template pairs by cosine; TAR at FAR 1e-6..1e-1.
import * as torch from "../torch/index.js";
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
  const n = release.images.length;
  const embeddings = torch.keep(torch.zeros([n, model.embeddingSize]));
  try {
    await withInferenceModel(model, { backend: options.backend ?? "auto", batchSize }, async (m) => {
      const size = modelInputSize(m);
      const backbone = m instanceof Backbone ? m : null;
      const wasTraining = backbone?.training ?? false;
      backbone?.eval();
      const read = (start: number) => readAlignedIjbFaces(release, start, Math.min(batchSize, n - start), size);
      // the next batch's photos decode (on sharp's threads) while this one is embedded
      let next: Promise<Uint8Array> | null = read(0);
      try {
        for (let start = 0; start < n; start += batchSize) {
          const count = Math.min(batchSize, n - start);
          const pixels: Uint8Array = await next!;
          next = start + count < n ? read(start + count) : null;
          const images = imagesToTensor(pixels, count, size, size, layout);
          try {
            const rows = await embedBatchWith(m, images, flipSum);
            torch.tidy(() => void embeddings.narrow(0, start, count).copy_(rows)); // frees the view
            rows.dispose();
          } finally {
            images.dispose();
          }
          options.onBatch?.(start + count, n);
        }
      } finally {
        await next?.catch(() => undefined); // a batch read ahead when a failure stopped the loop
        backbone?.train(wasTraining);
      }
    });
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
