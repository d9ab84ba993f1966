import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { localityOrder } from "../../src/analysis/locality-order.js";

test("locality order: a permutation that puts each of well-separated clusters in one run", () => {
  torch.manualSeed(5);
  const clusters = 6;
  const centres = torch.randn([clusters, 16]).mul(20);
  // Rows interleaved across clusters: row i belongs to cluster i % clusters
  const label = torch.arange(600).remainder(clusters);
  const points = centres.index([label]).add(torch.randn([600, 16]));
  const order = localityOrder(points, clusters);
  assert.deepEqual(
    order.sort(0)[0].toNumbers(),
    Array.from({ length: 600 }, (_, i) => i),
  );
  const runs = label.index([order]).toNumbers();
  const changes = runs.filter((c, i) => i > 0 && c !== runs[i - 1]).length;
  assert.equal(changes, clusters - 1, `cluster labels along the order: ${runs.join("")}`);
});

test("locality order of one cell is the identity", () => {
  assert.deepEqual(localityOrder(torch.randn([5, 3]), 1).toNumbers(), [0, 1, 2, 3, 4]);
});
