// Block analysis (Facco et al. 2017): the TwoNN estimate against the number of points it sees. The sample is
// shuffled and cut into 1, 2, 4, ... disjoint blocks; each block gets its own exact neighbour search and estimate.
// A flat curve means the estimate does not depend on the scale it probes; one that rises as blocks shrink
// (larger neighbour distances) shows curvature or density effects, one that rises with N shows noise.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { nearestNeighbours } from "./neighbours.js";
import { Rng } from "../data/index.js";
import { permutation } from "./sampling.js";
import { formatTable } from "./text-table.js";
import { twoNN, type TwoNNOptions } from "./twonn.js";

export interface BlockAnalysisOptions extends TwoNNOptions {
  /** L2-normalize the rows first (default true). */
  normalize?: boolean;
  /** The smallest block to estimate on (default 20 points). */
  minBlockSize?: number;
  /** Seed of the shuffle (default 0). */
  seed?: number;
}

export interface BlockAnalysisRow {
  /** Points per block. */
  size: number;
  blocks: number;
  /** Mean and population standard deviation of the block estimates (std 0 for one block). */
  mean: number;
  std: number;
}

export function blockAnalysis(embeddings: Tensor, options: BlockAnalysisOptions = {}): BlockAnalysisRow[] {
  const n = embeddings.shape[0]!;
  const minBlockSize = options.minBlockSize ?? 20;
  if (embeddings.ndim !== 2 || n < minBlockSize || minBlockSize < 3)
    throw new Error(
      `blockAnalysis: need [N, D] embeddings with N >= minBlockSize >= 3, got [${embeddings.shape}] and ${minBlockSize}`,
    );
  const order = permutation(n, new Rng(options.seed ?? 0));
  return torch.noGrad(() =>
    torch.tidy(() => {
      let x = embeddings.to("float32").index([torch.tensor(order).to("int64")]);
      if (options.normalize ?? true) x = torch.nn.functional.normalize(x, 2, 1);
      const rows: BlockAnalysisRow[] = [];
      for (let blocks = 1; Math.floor(n / blocks) >= minBlockSize; blocks *= 2) {
        const size = Math.floor(n / blocks);
        const estimates = Array.from({ length: blocks }, (_, b) =>
          torch.tidy(() => {
            const nn = nearestNeighbours(x.narrow(0, b * size, size), 2, { unitNorm: options.normalize ?? true });
            return twoNN(nn.distances.select(1, 0), nn.distances.select(1, 1), options);
          }),
        );
        const mean = estimates.reduce((a, v) => a + v, 0) / blocks;
        const std = Math.sqrt(estimates.reduce((a, v) => a + (v - mean) ** 2, 0) / blocks);
        rows.push({ size, blocks, mean, std });
      }
      return rows;
    }),
  );
}

export function formatBlockAnalysisTable(rows: readonly BlockAnalysisRow[]): string {
  return formatTable(
    ["points per block", "blocks", "ID (mean ± std)"],
    rows.map((r) => [String(r.size), String(r.blocks), `${r.mean.toFixed(2)} ± ${r.std.toFixed(2)}`]),
  );
}
