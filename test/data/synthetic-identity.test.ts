import { test } from "node:test";
import assert from "node:assert/strict";
import { identityBasis, makeIdentity, TRAITS } from "../../src/data/synthetic/identity.js";
import { generateSyntheticDataset } from "../../src/data/synthetic/generate.js";
import { tempDir } from "./helpers.js";

/** How many of the vectors are linearly independent (Gram-Schmidt with a relative tolerance). */
function rank(vectors: readonly Float64Array[]): number {
  const kept: Float64Array[] = [];
  for (const v of vectors) {
    const r = Float64Array.from(v);
    for (const q of kept) {
      const dot = r.reduce((s, x, i) => s + x * q[i]!, 0);
      r.forEach((x, i) => (r[i] = x - dot * q[i]!));
    }
    const norm = Math.hypot(...r);
    if (norm > 1e-8 * Math.hypot(...v)) kept.push(r.map((x) => x / norm));
  }
  return kept.length;
}

test("identities differ in exactly identityDims directions, and each trait keeps unit variance", () => {
  for (const dims of [3, 10]) {
    const basis = identityBasis(7, dims);
    const latents = Array.from({ length: 600 }, (_, i) => makeIdentity(i, { seed: 7, difficulty: 0, basis }).latent);
    assert.equal(rank(latents), dims);
    for (let k = 0; k < TRAITS.length; k++) {
      const variance = latents.reduce((s, l) => s + l[k]! ** 2, 0) / latents.length;
      assert.ok(Math.abs(variance - 1) < 0.2, `${TRAITS[k]} variance ${variance} at ${dims} dims`);
    }
  }
  // the default keeps every trait independent: as many directions as traits
  const independent = Array.from({ length: 100 }, (_, i) => makeIdentity(i, { seed: 7, difficulty: 0.5 }).latent);
  assert.equal(identityBasis(7, TRAITS.length), undefined);
  assert.equal(rank(independent), TRAITS.length);
});

test("an identityDims outside 1..the trait count is refused, naming the option", async () => {
  await assert.rejects(
    generateSyntheticDataset(tempDir("synthetic-dims"), { identities: 2, imagesPerIdentity: 1, identityDims: 0 }),
    /option identityDims = 0 is out of range \(an integer from 1 to 43\)/,
  );
  assert.throws(() => identityBasis(0, TRAITS.length + 1), /from 1 to 43, got 44/);
});
