// A model on a verification pack (the real-tool fixture pairs_py3.bin) against the protocol computed by hand:
// decode, embed each image and its mirror, sum, L2-normalize, pair rows 2i and 2i+1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { decodeBatch, readVerificationPack } from "../../src/data/index.js";
import { combineFlip, pairsOfPack, verifyPairs } from "../../src/eval/index.js";
import { createModel } from "../../src/models/index.js";
import { verifyModelOnPack } from "../../src/infer/index.js";

const PACK = fileURLToPath(new URL("../../../test/fixtures/insightface/pairs_py3.bin", import.meta.url));

test("verifyModelOnPack is the insightface protocol on flip-summed, L2-normalized embeddings", async () => {
  torch.setNumThreads(1);
  torch.manualSeed(4);
  const model = createModel("mbf-w0.25@32", { embeddingSize: 16 });
  model.eval();
  try {
    const result = await verifyModelOnPack(model, PACK, { workers: 0, folds: 2 });
    const { images, issame } = readVerificationPack(PACK);
    const [plain, mirrored] = [
      await decodeBatch(images, [32, 32], { layout: "channels_last" }),
      await decodeBatch(images, [32, 32], { flip: true, layout: "channels_last" }),
    ];
    const expected = torch.tidy(() =>
      torch.noGrad(() => {
        const embeddings = combineFlip(model.forward(plain), model.forward(mirrored));
        const { left, right } = pairsOfPack(embeddings);
        return verifyPairs(left, right, issame, { folds: 2 });
      }),
    );
    plain.dispose();
    mirrored.dispose();
    assert.equal(result.pairs, 7);
    assert.deepEqual(result.foldThresholds, expected.foldThresholds);
    assert.equal(result.accuracy, expected.accuracy);
    assert.ok(Math.abs(result.roc.auc - expected.roc.auc) < 1e-9);
    // on the sphere every squared distance is at most 4: the thresholds the protocol picks lie inside 0..4
    assert.ok(
      result.foldThresholds.every((t) => t >= 0 && t <= 4),
      JSON.stringify(result.foldThresholds),
    );
  } finally {
    model.dispose();
  }
});
