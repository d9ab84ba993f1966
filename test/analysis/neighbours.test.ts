import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { nearestNeighbours, nearestNeighboursAmong } from "../../src/analysis/neighbours.js";

// Brute force in float64: the k + 1 nearest other rows (ties by index), with distances (one more than asked, to
// recognize ties at the k-th).
function bruteForce(points: torch.Tensor, k: number, member?: boolean[]) {
  const [n, d] = points.shape as [number, number];
  const x = points.to("float64").data() as Float64Array;
  return Array.from({ length: n }, (_, i) => {
    const others: [number, number][] = [];
    for (let j = 0; j < n; j++) {
      if (j === i || (member && !member[j])) continue;
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[i * d + c]! - x[j * d + c]!) ** 2;
      others.push([Math.sqrt(s), j]);
    }
    return others.sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k + 1);
  });
}

function assertMatches(
  found: { distances: torch.Tensor; indices: torch.Tensor },
  expected: [number, number][][],
  rows?: number[],
) {
  const k = found.distances.shape[1]!;
  const dist = found.distances.toNumbers();
  const idx = found.indices.toNumbers();
  (rows ?? expected.map((_, i) => i)).forEach((row, r) => {
    for (let j = 0; j < k; j++) {
      const [d, i] = expected[row]![j]!;
      assert.ok(
        Math.abs(dist[r * k + j]! - d) < 1e-12,
        `row ${row} neighbour ${j}: distance ${dist[r * k + j]} != ${d}`,
      );
      // equal distances may come in either order
      if (dist[r * k + j] !== expected[row]![j + 1]?.[0] && dist[r * k + j] !== expected[row]![j - 1]?.[0])
        assert.equal(idx[r * k + j], i, `row ${row} neighbour ${j}`);
    }
  });
}

describe("exact nearest neighbours by blocked products", () => {
  torch.manualSeed(3);
  const points = torch.randn([700, 24]).mul(3).add(10); // off-centre, not unit norm

  test("every tile path (chunked and plain, ragged tiles, both triangle sides) against brute force", () => {
    const expected = bruteForce(points, 5);
    for (const blockSize of [700, 256, 96, 50]) assertMatches(nearestNeighbours(points, 5, { blockSize }), expected);
  });

  test("unit-norm rows ranked by dot product, and exact duplicates at distance 0", () => {
    const unit = torch.nn.functional.normalize(torch.cat([points, points.narrow(0, 0, 3)]), 2, 1);
    const expected = bruteForce(unit, 3);
    const found = nearestNeighbours(unit, 3, { unitNorm: true, blockSize: 128 });
    assertMatches(found, expected);
    assert.deepEqual(found.distances.select(1, 0).narrow(0, 700, 3).toNumbers(), [0, 0, 0]);
    assert.deepEqual(found.indices.select(1, 0).narrow(0, 700, 3).toNumbers(), [0, 1, 2]);
  });

  test("well-separated clusters in shuffled rows (tiles between clusters skipped) against brute force", () => {
    const centres = torch.randn([8, 24]).mul(30);
    const clustered = centres.index([torch.randperm(400).remainder(8)]).add(torch.randn([400, 24]));
    assertMatches(nearestNeighbours(clustered, 4, { blockSize: 50 }), bruteForce(clustered, 4));
  });

  test("neighbours among a subset", () => {
    const member = Array.from({ length: 700 }, (_, i) => i % 3 !== 0);
    const expected = bruteForce(points, 2, member);
    const queries = [1, 5, 3, 699];
    const found = nearestNeighboursAmong(
      points,
      torch.tensor(queries).long(),
      torch.tensor(member.map(Number)).ne(0),
      2,
    );
    assertMatches(found, expected, queries);
  });

  test("k out of range is an error", () => {
    assert.throws(() => nearestNeighbours(points.narrow(0, 0, 3), 3), /k must be an integer in \[1, 2\]/);
  });
});
