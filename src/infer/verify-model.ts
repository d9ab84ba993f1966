// A model on a verification pack, end to end: decode the pack's images, embed them (flip-sum by default, as
// insightface evaluates), L2-normalize and run the pair protocol. The embeddings stay in memory: a pack holds a few
// thousand pairs.
import * as torch from "../torch/index.js";
import { readVerificationPack } from "../data/index.js";
import {
  l2Normalize,
  pairsOfPack,
  verifyPairs,
  type PairProtocolOptions,
  type PairProtocolResult,
} from "../eval/index.js";
import { embedImages, type EmbeddingModel, type EmbedImagesOptions } from "./embed.js";

/** With a group of several ranks (a collective), each embeds a share of the pack; every rank gets the result. */
export type ModelVerificationOptions = PairProtocolOptions & EmbedImagesOptions;

/** The insightface pair protocol of `model` on the verification pack at `packPath` (.bin). */
export async function verifyModelOnPack(
  model: EmbeddingModel,
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
