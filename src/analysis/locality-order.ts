// An order of the rows that puts nearby points next to each other: rows grouped by their nearest centroid after
// a few rounds of k-means (Lloyd's algorithm). Any order gives the same neighbours; this one lets the blocked
// neighbour search skip most of the top-k work, since a block then already holds many of its points' neighbours.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** A permutation (int64 [N]) of the rows of `points` [N, D] that groups them into `clusters` k-means cells. */
export function localityOrder(points: Tensor, clusters: number, rounds = 8): Tensor {
  const n = points.shape[0]!;
  if (clusters <= 1) return torch.arange(n);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const x = points.to("float32");
      // The centroids come from a sample of about 64 rows per cell, which is plenty for an order
      const sample = x.index([torch.arange(0, n, Math.max(1, Math.floor(n / (64 * clusters))))]);
      let centroids = farthestPoints(sample, clusters);
      for (let r = 0; r < rounds; r++) {
        const cell = nearest(sample, centroids);
        const sums = torch.aten.index_add(torch.zerosLike(centroids), 0, cell, sample);
        const counts = torch.aten.bincount(cell, null, clusters).clampMin(1).unsqueeze(1);
        centroids = sums.div(counts);
      }
      const cell = nearest(x, centroids);
      return cell.sort(0)[1];
    }),
  );
}

// A deterministic start that spreads the centroids: row 0, then each time the row farthest from those chosen
function farthestPoints(x: Tensor, count: number): Tensor {
  const halfNorm = x.square().sum(1).mul(0.5);
  const chosen = [0];
  let nearest = torch.full([x.shape[0]!], Infinity); // |x - c|^2 / 2 to the nearest chosen c
  for (let c = 1; c < count; c++) {
    const last = chosen[c - 1]!;
    const distance = halfNorm.sub(x.mm(x.select(0, last).unsqueeze(1)).squeeze(1)).add(halfNorm.select(0, last));
    nearest = nearest.minimum(distance);
    chosen.push(nearest.argmax().item());
  }
  return x.index([torch.tensor(chosen).to("int64")]);
}

// The nearest centroid of each row: argmax of x.c - |c|^2 / 2
function nearest(x: Tensor, centroids: Tensor): Tensor {
  return x.mm(centroids.t()).sub(centroids.square().sum(1).mul(0.5)).argmax(1);
}
