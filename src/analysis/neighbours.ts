// Exact k nearest neighbours (Euclidean) by blocked matrix products, never an N x N matrix in memory.
//
// Candidates come from float32 tiles of -|x - y|^2 / 2 = x.y - |x|^2 / 2 - |y|^2 / 2 (x.y alone for unit-norm
// rows), which one matrix product gives from the coordinates augmented with [-|x|^2 / 2, 1] and [1, -|y|^2 / 2].
// The score is symmetric, so each tile serves its rows and its columns and only the upper triangle of tiles is
// computed. The best `k + margin` candidates per point are then re-ranked by their float64 distances from the
// input coordinates and the nearest k kept: exact distances (an exact duplicate is at distance 0), and the exact
// neighbours unless float32 rounding moved a true neighbour below `margin` others.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

export interface NeighbourOptions {
  /** Rows are unit-norm: rank by dot product alone (default false). */
  unitNorm?: boolean;
  /** Rows per tile of the blocked product (default 2048). */
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
  const block = options.blockSize ?? 2048;
  const width = Math.min(k + (options.margin ?? 4), n - 1);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const { left, right } = rankingSpace(points, options.unitNorm ?? false);
      const best = new RunningBest(n, width);
      // Transposed tiles go into one reused buffer: a fresh 16 MB result per tile costs thousands of page faults.
      const transposed = torch.empty([Math.min(block, n) ** 2]);
      const blocks = Math.ceil(n / block);
      for (let bi = 0; bi < blocks; bi++) {
        const [i0, rows] = [bi * block, Math.min(block, n - bi * block)];
        for (let bj = bi; bj < blocks; bj++) {
          const [j0, cols] = [bj * block, Math.min(block, n - bj * block)];
          torch.tidy(() => {
            const score = left.narrow(0, i0, rows).mm(right.narrow(0, j0, cols).t());
            if (bi === bj) torch.aten.diagonal(score).fill_(-Infinity);
            best.merge(i0, score, j0);
            if (bi !== bj)
              best.merge(
                j0,
                transposed
                  .narrow(0, 0, rows * cols)
                  .view([cols, rows])
                  .copy_(score.t()),
                i0,
              );
          });
        }
      }
      return refine(points, torch.arange(n), best.indices, k);
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

  /** Folds in a tile's scores [rows, cols] for points start.. against points offset.. . */
  merge(start: number, tile: Tensor, offset: number): void {
    const [rows, cols] = tile.shape as [number, number];
    const [candidates, columns] = tile.topk(Math.min(this.#width, cols), 1);
    const scores = this.scores.narrow(0, start, rows);
    const indices = this.indices.narrow(0, start, rows);
    const [top, pick] = torch.cat([scores, candidates], 1).topk(this.#width, 1);
    const merged = torch.cat([indices, columns.add(offset)], 1).gather(1, pick);
    scores.copy_(top);
    indices.copy_(merged);
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
      const [sorted, order] = others.sub(self).square().sum(2).sqrt().sort(1);
      return [sorted.narrow(1, 0, k), ids.gather(1, order.narrow(1, 0, k))];
    });
    distances.push(dist);
    indices.push(idx);
  }
  return { distances: torch.cat(distances), indices: torch.cat(indices) };
}
