// Exact k nearest neighbours (Euclidean) by blocked matrix products, never an N x N matrix in memory.
//
// Candidates come from float32 tiles of -|x - y|^2 / 2 = x.y - |x|^2 / 2 - |y|^2 / 2 (x.y alone for unit-norm
// rows), which one matrix product gives from the coordinates augmented with [-|x|^2 / 2, 1] and [1, -|y|^2 / 2].
// The score is symmetric, so each tile serves its rows and its columns and only the upper triangle of tiles is
// computed. The best `k + margin` candidates per point are then re-ranked by their float64 distances from the
// input coordinates and the nearest k kept: exact distances (an exact duplicate is at distance 0), and the exact
// neighbours unless float32 rounding moved a true neighbour below `margin` others.
//
// Most of the work besides the products is the per-tile top-k, and most of it can be skipped: a point gains
// nothing from a tile whose best score for it does not beat its current (k + margin)-th best, which one cheap
// max-reduction tells. Rows are therefore visited in a locality order (k-means cells, see locality-order.ts),
// diagonal tiles first and then block pairs by their mean score, so that these bars are high early; on the
// benchmark's 58,000 x 512 embeddings (bench/eval.ts) about 40% of a tile's rows and columns still need the top-k.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { localityOrder } from "./locality-order.js";

export interface NeighbourOptions {
  /** Rows are unit-norm: rank by dot product alone (default false). */
  unitNorm?: boolean;
  /** Rows per tile of the blocked product (default 4096: OpenBLAS runs bigger products faster). */
  blockSize?: number;
  /** Extra float32 candidates per point, re-ranked in float64 (default 4). */
  margin?: number;
}

export interface Neighbours {
  /** [N, k] float64 distances, ascending per row. */
  distances: Tensor;
  /** [N, k] int64 row indices of the neighbours. */
  indices: Tensor;
}

/** The k nearest other points of every row of `points` [N, D]. */
export function nearestNeighbours(points: Tensor, k: number, options: NeighbourOptions = {}): Neighbours {
  const n = points.shape[0]!;
  checkArguments("nearestNeighbours", points, k, n - 1);
  const block = options.blockSize ?? 4096;
  const width = Math.min(k + (options.margin ?? 4), n - 1);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const order = localityOrder(points, Math.ceil(n / block));
      const { left, right } = rankingSpace(points.index([order]), options.unitNorm ?? false);
      const best = new RunningBest(n, width);
      // Transposed tiles go into one reused buffer: a fresh 16 MB result per tile costs thousands of page faults.
      const transposed = torch.empty([Math.min(block, n) ** 2]);
      const blocks = Math.ceil(n / block);
      const tile = (b: number): [number, number] => [b * block, Math.min(block, n - b * block)];
      // Diagonal tiles first: with nearby points in the same block they set high bars early, so that the other
      // tiles add candidates to few points.
      for (let b = 0; b < blocks; b++) {
        const [start, size] = tile(b);
        torch.tidy(() => {
          const score = left.narrow(0, start, size).mm(right.narrow(0, start, size).t());
          torch.aten.diagonal(score).fill_(-Infinity);
          best.foldRows(score, start, start); // symmetric: its rows serve its columns too
        });
      }
      for (const [bi, bj] of pairsNearestFirst(left, right, block)) {
        const [i0, rows] = tile(bi);
        const [j0, cols] = tile(bj);
        torch.tidy(() => {
          const score = left.narrow(0, i0, rows).mm(right.narrow(0, j0, cols).t());
          best.foldRows(score, i0, j0);
          best.foldColumns(score, i0, j0, transposed);
        });
      }
      // Back to the input's row numbers
      const rowOf = torch.empty([n], { dtype: "int64" });
      torch.aten.index_put_(rowOf, [order], torch.arange(n));
      return refine(points, torch.arange(n), order.index([best.indices.index([rowOf])]), k);
    }),
  );
}

/**
 * The k nearest neighbours of the rows `queries` (int64 row indices of `points`) among the rows where `member`
 * (bool [N]) is true, the query row itself excluded.
 */
export function nearestNeighboursAmong(
  points: Tensor,
  queries: Tensor,
  member: Tensor,
  k: number,
  options: NeighbourOptions = {},
): Neighbours {
  const n = points.shape[0]!;
  checkArguments("nearestNeighboursAmong", points, k, n - 1);
  const width = k + (options.margin ?? 4);
  const rowsPerBlock = Math.max(1, Math.floor(2 ** 22 / n));
  return torch.noGrad(() =>
    torch.tidy(() => {
      const candidates = member.sum().item() - 1;
      if (candidates < k) throw new Error(`nearestNeighboursAmong: ${candidates} other members, fewer than k = ${k}`);
      const { left, right } = rankingSpace(points, options.unitNorm ?? false);
      const excluded = member.logicalNot().unsqueeze(0);
      const take = Math.min(width, candidates);
      const found: Tensor[] = [];
      const m = queries.numel();
      for (let start = 0; start < m; start += rowsPerBlock) {
        const size = Math.min(rowsPerBlock, m - start);
        found.push(
          torch.tidy(() => {
            const rows = queries.narrow(0, start, size);
            const score = left.index([rows]).mm(right.t());
            score.maskedFill_(excluded.expand([size, n]), -Infinity);
            return score.scatter(1, rows.unsqueeze(1), -Infinity).topk(take, 1)[1]; // and not itself
          }),
        );
      }
      return refine(points, queries, torch.cat(found), k);
    }),
  );
}

// The pairs of different blocks, those with the highest mean score first (the mean of a block pair's scores is the
// product of the blocks' mean factors), so that points meet their likely neighbours before the rest.
function pairsNearestFirst(left: Tensor, right: Tensor, block: number): [number, number][] {
  const n = left.shape[0]!;
  const blocks = Math.ceil(n / block);
  const blockMeans = (factors: Tensor): Tensor =>
    torch.stack(
      Array.from({ length: blocks }, (_, b) => factors.narrow(0, b * block, Math.min(block, n - b * block)).mean(0)),
    );
  const meanScore = blockMeans(left).mm(blockMeans(right).t()).data() as Float32Array;
  const pairs: [number, number][] = [];
  for (let i = 0; i < blocks; i++) for (let j = i + 1; j < blocks; j++) pairs.push([i, j]);
  return pairs.sort((p, q) => meanScore[q[0] * blocks + q[1]]! - meanScore[p[0] * blocks + p[1]]!);
}

function checkArguments(what: string, points: Tensor, k: number, others: number): void {
  if (points.ndim !== 2) throw new Error(`${what}: expected [N, D] points, got [${points.shape}]`);
  if (!Number.isInteger(k) || k < 1 || k > others)
    throw new Error(`${what}: k must be an integer in [1, ${others}] for ${others + 1} points, got ${k}`);
}

// float32 factors of the score matrix (see the header); the coordinates are centered first (distances do not
// change) so that the norms, and the cancellation in the score, stay small.
function rankingSpace(points: Tensor, unitNorm: boolean): { left: Tensor; right: Tensor } {
  const p = points.to("float32").contiguous();
  if (unitNorm) return { left: p, right: p };
  const x = p.sub(p.mean(0, true));
  const halfNorm = x.square().sum(1, true).mul(-0.5);
  const one = torch.onesLike(halfNorm);
  return { left: torch.cat([x, halfNorm, one], 1), right: torch.cat([x, one, halfNorm], 1) };
}

/** The best `width` candidates (score, index) of each point so far. */
class RunningBest {
  readonly scores: Tensor;
  readonly indices: Tensor;
  readonly #width: number;

  constructor(n: number, width: number) {
    this.scores = torch.full([n, width], -Infinity);
    this.indices = torch.zeros([n, width], { dtype: "int64" });
    this.#width = width;
  }

  /**
   * Folds in a tile's scores [rows, cols] of points start.. (its rows) against points offset.. (its columns). Only
   * rows whose best score in the tile beats their current width-th best can gain a candidate; the top-k skips the
   * others.
   */
  foldRows(tile: Tensor, start: number, offset: number): void {
    this.#foldGaining(tile, this.#gaining(tile.amax(1), start), start, offset);
  }

  /** The same for the tile's columns, points offset.. against points start.., transposing through `buffer`. */
  foldColumns(tile: Tensor, start: number, offset: number, buffer: Tensor): void {
    const [rows, cols] = tile.shape as [number, number];
    const gaining = this.#gaining(tile.amax(0), offset);
    const m = gaining.numel();
    if (m === 0) return;
    // Gathering a few columns is cheap; for many, one transposed copy and the row-wise path are cheaper
    if (m <= cols / 4) {
      this.#merge(gaining.add(offset), tile.indexSelect(1, gaining).t().contiguous(), start);
      return;
    }
    const transposed = buffer
      .narrow(0, 0, rows * cols)
      .view([cols, rows])
      .copy_(tile.t());
    this.#foldGaining(transposed, gaining, offset, start);
  }

  // Folds in the rows `gaining` (offsets from `start`) of a contiguous tile: the whole tile when most rows gain
  #foldGaining(tile: Tensor, gaining: Tensor, start: number, offset: number): void {
    const rows = tile.shape[0]!;
    const m = gaining.numel();
    if (m === 0) return;
    if (m > rows / 2) this.#merge(torch.arange(start, start + rows), tile, offset);
    else this.#merge(gaining.add(start), tile.indexSelect(0, gaining), offset);
  }

  // The points (int64 row offsets from `start`) whose best score in a tile, `maxima`, beats their width-th best
  #gaining(maxima: Tensor, start: number): Tensor {
    const bar = this.scores.narrow(0, start, maxima.numel()).select(1, this.#width - 1);
    return torch.aten.nonzero(maxima.gt(bar)).flatten();
  }

  // Folds candidate scores [m, cols] of the points `points` (int64 [m]) against points offset.. into their lists
  #merge(points: Tensor, candidates: Tensor, offset: number): void {
    const [scores, columns] = candidates.topk(Math.min(this.#width, candidates.shape[1]!), 1);
    const [top, pick] = torch.cat([this.scores.index([points]), scores], 1).topk(this.#width, 1);
    const merged = torch.cat([this.indices.index([points]), columns.add(offset)], 1).gather(1, pick);
    torch.aten.index_put_(this.scores, [points], top);
    torch.aten.index_put_(this.indices, [points], merged);
  }
}

// Exact float64 distances from `rows` to their candidates; the nearest k, ascending.
function refine(points: Tensor, rows: Tensor, candidates: Tensor, k: number): Neighbours {
  const m = rows.numel();
  const width = candidates.shape[1]!;
  const d = points.shape[1]!;
  const perBlock = Math.max(1, Math.floor(2 ** 22 / (width * d)));
  const distances: Tensor[] = [];
  const indices: Tensor[] = [];
  for (let start = 0; start < m; start += perBlock) {
    const size = Math.min(perBlock, m - start);
    const [dist, idx] = torch.tidy(() => {
      const ids = candidates.narrow(0, start, size);
      const self = points
        .index([rows.narrow(0, start, size)])
        .to("float64")
        .unsqueeze(1);
      const others = points.index([ids.flatten()]).to("float64").reshape([size, width, d]);
      // cdist's mode 2 sums squared differences (no |x|^2 + |y|^2 - 2 x.y cancellation): duplicates are at 0
      const [sorted, order] = torch.aten.cdist(self, others, 2, 2).squeeze(1).sort(1);
      return [sorted.narrow(1, 0, k), ids.gather(1, order.narrow(1, 0, k))];
    });
    distances.push(dist);
    indices.push(idx);
  }
  return { distances: torch.cat(distances), indices: torch.cat(indices) };
}
