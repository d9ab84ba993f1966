import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { allVsAllHistogram, verifyAllVsAll } from "../../src/eval/all-vs-all.js";
import { identify } from "../../src/eval/identification.js";

// Deterministic integers for test data.
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

// 2,000 unit vectors with entries +-1/16 in 256-d (norm exactly 1): every dot product is a multiple of 2^-7 and
// exact in float32 whatever the summation order, so blocked and brute-force scores agree bit for bit.
// Identities of 1 to 30 images: each image flips ~20% of its identity's signs; three more rows give the scores
// +1 (an exact copy, genuine and impostor) and -1 (a negated copy). Rows are shuffled.
function exactEmbeddingSet() {
  const random = lcg(7);
  const dim = 256;
  const signs: Int8Array[] = [];
  const labels: number[] = [];
  for (let id = 0; signs.length < 1997; id++) {
    const base = Int8Array.from({ length: dim }, () => (random(2) ? 1 : -1));
    const size = Math.min(1 + random(30), 1997 - signs.length);
    for (let j = 0; j < size; j++) {
      signs.push(base.map((s) => (random(5) === 0 ? -s : s)));
      labels.push(1000 - 3 * id); // labels neither sorted nor contiguous integers
    }
  }
  signs.push(
    signs[0]!.slice(),
    signs[1]!.slice(),
    signs[2]!.map((v) => -v),
  );
  labels.push(labels[0]!, -1, labels[2]!);
  for (let i = signs.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [signs[i], signs[j]] = [signs[j]!, signs[i]!];
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  const data = new Float32Array(signs.length * dim);
  signs.forEach((row, i) => row.forEach((s, d) => (data[i * dim + d] = s / 16)));
  return { embeddings: torch.tensor(data, { shape: [signs.length, dim] }), signs, labels };
}

function bruteForceHistogram(signs: Int8Array[], labels: number[], bins: number) {
  const genuine = new Float64Array(bins);
  const impostor = new Float64Array(bins);
  for (let i = 0; i < signs.length; i++) {
    for (let j = i + 1; j < signs.length; j++) {
      let dot = 0;
      for (let d = 0; d < 256; d++) dot += signs[i]![d]! * signs[j]![d]!;
      const score = dot / 256;
      const bin = Math.min(bins - 1, Math.floor(((score + 1) * bins) / 2));
      (labels[i] === labels[j] ? genuine : impostor)[bin]! += 1;
    }
  }
  return { genuine, impostor };
}

describe("large-scale all-vs-all verification", () => {
  const set = exactEmbeddingSet();

  test("the blocked histograms equal a brute-force count over all 1,999,000 pairs of 2,000 embeddings", () => {
    for (const [bins, blockSize] of [
      [65536, 256],
      [1000, 2048],
    ] as const) {
      const expected = bruteForceHistogram(set.signs, set.labels, bins);
      const h = allVsAllHistogram(set.embeddings, set.labels, { bins, blockSize });
      assert.deepEqual(h.genuine, expected.genuine, `genuine counts, ${bins} bins, tiles of ${blockSize}`);
      assert.deepEqual(h.impostor, expected.impostor, `impostor counts, ${bins} bins, tiles of ${blockSize}`);
      const total = h.genuine.reduce((a, b) => a + b, 0) + h.impostor.reduce((a, b) => a + b, 0);
      assert.equal(total, (2000 * 1999) / 2);
    }
  });

  test("TAR@FAR from the histograms, its resolution and the n/a rule", () => {
    const r = verifyAllVsAll(set.embeddings, set.labels, { blockSize: 512 });
    assert.equal(r.binWidth, 2 ** -15);
    assert.equal(r.roc.genuineCount + r.roc.impostorCount, 1999000);
    assert.equal(r.tarSlack.length, r.roc.tarAtFar.length);
    const at1e6 = r.roc.tarAtFar.find((t) => t.far === 1e-6)!;
    assert.ok(r.roc.impostorCount * 1e-6 < 2 && r.roc.impostorCount * 1e-6 >= 1); // one false accept allowed
    assert.ok(at1e6.achievedFar! <= 1e-6 && at1e6.tar! > 0.2, JSON.stringify(at1e6));
    assert.ok(
      r.tarSlack.every((v) => v !== null && v >= 0 && v <= 1),
      JSON.stringify(r.tarSlack),
    );
    assert.ok(r.roc.auc > 0.99 && r.roc.eer < 0.05);
    const smaller = verifyAllVsAll(set.embeddings.narrow(0, 0, 500), set.labels.slice(0, 500), { fars: [1e-6, 1e-2] });
    assert.equal(smaller.roc.tarAtFar[0]!.tar, null); // 124,750 pairs cannot resolve 1e-6
    assert.equal(smaller.tarSlack[0], null);
    assert.notEqual(smaller.roc.tarAtFar[1]!.tar, null);
  });

  test("progress is reported per tile, and bad arguments are errors", () => {
    const seen: number[] = [];
    allVsAllHistogram(set.embeddings.narrow(0, 0, 300), set.labels.slice(0, 300), {
      blockSize: 100,
      onProgress: (done, total) => seen.push(done / total),
    });
    assert.equal(seen.length, 6);
    assert.equal(seen.at(-1), 1);
    assert.throws(() => allVsAllHistogram(set.embeddings, set.labels.slice(1)), /N labels/);
    assert.throws(() => allVsAllHistogram(set.embeddings, set.labels, { blockSize: 0 }), /blockSize/);
  });
});

describe("identification", () => {
  test("rank-1 and TPIR@FPIR worked by hand", () => {
    const gallery = torch.tensor([
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
    ]);
    const c = (v: number) => Math.sqrt(1 - v * v);
    const probes = torch.tensor([
      [0.8, 0, 0, c(0.8)], // label 10: best match gallery 10 (0.8), correct
      [0, 0.7, 0, c(0.7)], // label 30: best match gallery 20 (0.7), a mated search with a wrong top match
      [0.5, 0, 0, c(0.5)], // label 40, not in the gallery: top score 0.5
      [0, 0, 0.9, c(0.9)], // label 50, not in the gallery: top score 0.9
    ]);
    const r = identify(gallery, [10, 20, 30], probes, [10, 30, 40, 50], { fpirs: [0.1, 0.5], blockScores: 3 });
    assert.equal(r.matedProbes, 2);
    assert.equal(r.nonMatedProbes, 2);
    assert.equal(r.rank1, 0.5);
    // FPIR 1/2 allows one false positive (0.9): threshold 0.8 keeps the correct search; 1/10 of 2 is n/a.
    assert.deepEqual(
      r.tpirAtFpir.map((t) => [t.tpir, t.threshold, t.achievedFpir]),
      [
        [null, null, null],
        [0.5, 0.800000011920929, 0.5],
      ],
    );
    assert.throws(() => identify(gallery, [10, 20, 30], probes, [10, 30, 40, 50], { fpirs: [1] }), /rank1/);
    const closedSet = identify(gallery, [10, 20, 30], probes.narrow(0, 0, 2), [10, 30]);
    assert.equal(closedSet.rank1, 0.5);
    assert.ok(closedSet.tpirAtFpir.every((t) => t.tpir === null));
  });
});
