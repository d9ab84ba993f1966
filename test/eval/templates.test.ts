import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { poolTemplates, scoreTemplatePairs, verifyTemplates } from "../../src/eval/templates.js";

const close = (actual: number[], expected: number[], what: string) =>
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${what}[${i}]: ${v} != ${expected[i]}`));

describe("IJB-style template pooling", () => {
  // Template 7: images a = [1, 0] and b = [0, 1] of media 1 (a video), c = [2, 0] of media 2 (a still).
  // Template 3: image d = [0, 3] of media 5. Rows arrive out of order: c, d, a, b.
  const embeddings = torch.tensor([
    [2, 0],
    [0, 3],
    [1, 0],
    [0, 1],
  ]);
  const templateIds = [7, 3, 7, 7];
  const mediaIds = [2, 5, 1, 1];

  test("mean per media, sum per template, normalize: keeps the image norms by default (insightface N1)", () => {
    const pooled = poolTemplates(embeddings, templateIds, mediaIds);
    assert.deepEqual(pooled.ids.toNumbers(), [3, 7]);
    // template 7: media 1 mean [0.5, 0.5] + media 2 [2, 0] = [2.5, 0.5]
    close(pooled.embeddings.toNumbers(), [0, 1, 2.5 / Math.sqrt(6.5), 0.5 / Math.sqrt(6.5)], "pooled");
    const scores = scoreTemplatePairs(pooled, [7, 3], [3, 3]);
    close(scores.toNumbers(), [0.5 / Math.sqrt(6.5), 1], "cosine");
  });

  test("normalized images and quality weights", () => {
    // normalized: c becomes [1, 0]: template 7 = [0.5, 0.5] + [1, 0] = [1.5, 0.5]
    const normalized = poolTemplates(embeddings, templateIds, mediaIds, { normalizeImages: true });
    close(
      normalized.embeddings.narrow(0, 1, 1).toNumbers(),
      [1.5 / Math.sqrt(2.5), 0.5 / Math.sqrt(2.5)],
      "normalized",
    );
    // weights: c x 0.25 = [0.5, 0], a x 2 = [2, 0]: media 1 mean [1, 0.5]; template 7 = [1.5, 0.5]
    const weighted = poolTemplates(embeddings, templateIds, mediaIds, { imageWeights: [0.25, 1, 2, 1] });
    close(weighted.embeddings.narrow(0, 1, 1).toNumbers(), [1.5 / Math.sqrt(2.5), 0.5 / Math.sqrt(2.5)], "weighted");
  });

  test("a template pair list end to end, and unknown templates are named", () => {
    // three templates: 1 and 2 of one identity ([1, 0], [0.8, 0.6]), 9 of another ([0, 1])
    const e = torch.tensor([
      [1, 0],
      [0.8, 0.6],
      [0, 1],
    ]);
    const r = verifyTemplates(
      e,
      [1, 2, 9],
      [1, 2, 3],
      { first: [1, 1, 2], second: [2, 9, 9], same: [true, false, false] },
      { fars: [0.5] },
    );
    assert.equal(r.templates, 3);
    assert.deepEqual(
      Array.from(r.scores, (v) => Math.round(v * 1e6) / 1e6),
      [0.8, 0, 0.6],
    ); // pair-list order
    assert.equal(r.genuineCount, 1);
    assert.equal(r.impostorCount, 2);
    assert.equal(r.auc, 1); // genuine cosine 0.8 beats impostors 0 and 0.6
    assert.equal(r.tarAtFar[0]!.tar, 1);
    const pooled = poolTemplates(e, [1, 2, 9], [1, 2, 3]);
    assert.throws(() => scoreTemplatePairs(pooled, [1], [4]), /template id 4 is in the pair list but has no images/);
    assert.throws(() => poolTemplates(e, [1, 2], [1, 2, 3]), /2 template ids and 3 media ids/);
  });
});
