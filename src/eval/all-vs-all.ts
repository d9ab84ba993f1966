// Large-scale verification over every pair of a labeled embedding set (MR-all style), without an N x N matrix:
// embeddings are L2-normalized and sorted by label; the upper triangle of the cosine matrix is computed in
// blockSize x blockSize tiles by matrix products on the engine. The product itself yields each score's bin,
// s * bins/2 + bins/2 (addmm), which is truncated to int32 and counted (bincount) into `bins` equal bins over
// [-1, 1] (a score of 1, index `bins`, joins the top bin; rounding cannot carry a unit-vector cosine a whole bin
// past either end). Genuine pairs lie in tiles near the diagonal of the label-sorted matrix; those tiles are also
// counted with every non-genuine entry sent to a discard bin, and impostor counts are the difference.
// Every count is exact (int64). With a process group, each rank counts every worldSize-th tile and the counts are
// summed across ranks (all_reduce): every rank gets the histograms of one process. The resolution is in the
// thresholds: the ROC has an operating point at every bin edge (2 / bins apart, 3.05e-5 by default; a score's bin
// is exact up to float32 rounding, under 1/256 of a bin), so a reported TAR@FAR is exact for its threshold and can
// be below the best continuous-threshold TAR by at most the genuine share of the next occupied bin (tarSlack).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import { l2Normalize } from "./embeddings.js";
import { indexTensor } from "./inputs.js";
import { rocFromHistogram, type RocOptions, type RocSummary, type ScoreHistogram } from "./roc.js";

export interface AllVsAllOptions extends RocOptions {
  /** Histogram bins over the cosine range [-1, 1] (default 65536). */
  bins?: number;
  /** Rows (and columns) per tile of the blocked product (default 2048). */
  blockSize?: number;
  /** Called after each tile with (tiles done, tiles in all): of this rank's share with a group. */
  onProgress?: (done: number, total: number) => void;
  /** Share the tiles with the ranks of this group (a collective: every rank calls with the same embeddings). */
  group?: ProcessGroup;
}

export interface AllVsAllResult {
  histogram: ScoreHistogram;
  roc: RocSummary;
  /** The distance between neighbouring thresholds. */
  binWidth: number;
  /** Per roc.tarAtFar entry: how much higher the TAR could be with a threshold inside the next occupied bin. */
  tarSlack: (number | null)[];
}

/** Histograms of the cosine scores of all genuine and all impostor pairs {i < j} of `embeddings` [N, D]. */
export function allVsAllHistogram(
  embeddings: Tensor,
  labels: Tensor | ArrayLike<number>,
  options: AllVsAllOptions = {},
): ScoreHistogram {
  const bins = options.bins ?? 65536;
  const block = options.blockSize ?? 2048;
  if (!Number.isInteger(bins) || bins < 1) throw new Error(`allVsAll: bins must be a positive integer, got ${bins}`);
  if (!Number.isInteger(block) || block < 1)
    throw new Error(`allVsAll: blockSize must be a positive integer, got ${block}`);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const n = embeddings.shape[0]!;
      const label = indexTensor(labels, "allVsAll: labels");
      if (embeddings.ndim !== 2 || label.numel() !== n || n < 2)
        throw new Error(
          `allVsAll: expected [N, D] embeddings (N >= 2) and N labels, got [${embeddings.shape}] and ${label.numel()} labels`,
        );
      if (!embeddings.isfinite().all().item())
        throw new Error("allVsAll: the embeddings contain NaN or infinite values; check the model's outputs");
      const [sortedLabel, order] = label.sort(0);
      const x = l2Normalize(embeddings).index([order]);
      const labelAt = sortedLabel.toNumbers();
      // Counts of bins 0 .. bins-1, of scores of exactly 1 (index bins), and of entries not to count (bins + 1).
      const discard = bins + 1;
      const total = torch.zeros([bins + 2], { dtype: "int64" });
      const genuine = torch.zeros([bins + 2], { dtype: "int64" });
      const offset = torch.full([1, 1], bins / 2, { dtype: "float32" });
      // Tiles' products and bins go into reused buffers: a fresh 16 MB result per tile costs thousands of page faults.
      const productBuffer = torch.empty([Math.min(block, n) ** 2], { dtype: "float32" });
      const binBuffer = torch.empty([Math.min(block, n) ** 2], { dtype: "int32" });
      // The diagonal and below of a square tile (full or last), made before the tiles' scopes.
      const lowerTriangles = new Map(
        [block, n - (Math.ceil(n / block) - 1) * block].map((size) => [
          size,
          torch.aten.tril(torch.ones([size, size], { dtype: "bool" })),
        ]),
      );
      const blocks = Math.ceil(n / block);
      const { rank, worldSize } = options.group ?? { rank: 0, worldSize: 1 };
      const tiles = (blocks * (blocks + 1)) / 2;
      const mine = Math.floor(tiles / worldSize) + (rank < tiles % worldSize ? 1 : 0);
      let [tile, done] = [0, 0];
      // One libtorch thread: the products run on OpenBLAS's own threads, and libtorch's idle OpenMP threads would
      // spin against them (idle 2-core machine, 100,000 x 512: 62.6 s with two libtorch threads, 47.6 s with one)
      torch.withNumThreads(1, () => {
        for (let bi = 0; bi < blocks; bi++) {
          const [i0, rows] = [bi * block, Math.min(block, n - bi * block)];
          for (let bj = bi; bj < blocks; bj++) {
            if (tile++ % worldSize !== rank) continue;
            const [j0, cols] = [bj * block, Math.min(block, n - bj * block)];
            torch.tidy(() => {
              const product = productBuffer.narrow(0, 0, rows * cols).view([rows, cols]);
              torch.aten.addmm_out(offset, x.narrow(0, i0, rows), x.narrow(0, j0, cols).t(), 1, bins / 2, product);
              const bin = binBuffer
                .narrow(0, 0, rows * cols)
                .view([rows, cols])
                .copy_(product); // truncates
              if (bi === bj) bin.maskedFill_(lowerTriangles.get(rows)!, discard);
              total.add_(torch.aten.bincount(bin.view([-1]), null, bins + 2));
              // Sorted labels: later tiles share a label with rows i0.. only if it spans the tile boundary.
              if (bi === bj || labelAt[i0 + rows - 1] === labelAt[j0]) {
                const rowLabels = sortedLabel.narrow(0, i0, rows).unsqueeze(1);
                const same = rowLabels.eq(sortedLabel.narrow(0, j0, cols).unsqueeze(0));
                genuine.add_(torch.aten.bincount(torch.where(same, bin, discard).view([-1]), null, bins + 2));
              }
            });
            options.onProgress?.(++done, mine);
          }
        }
      });
      if (worldSize > 1) for (const counts of [total, genuine]) options.group!.allReduce(counts);
      const counts = (t: Tensor) => {
        const c = t.narrow(0, 0, bins).to("float64").data() as Float64Array;
        c[bins - 1]! += t.narrow(0, bins, 1).item();
        return c;
      };
      return { min: -1, max: 1, genuine: counts(genuine), impostor: counts(total.sub(genuine)) };
    }),
  );
}

/** All-vs-all verification: the score histograms, their ROC (TAR@FAR down to 1e-6, EER, AUC) and its resolution. */
export function verifyAllVsAll(
  embeddings: Tensor,
  labels: Tensor | ArrayLike<number>,
  options: AllVsAllOptions = {},
): AllVsAllResult {
  const histogram = allVsAllHistogram(embeddings, labels, options);
  const roc = rocFromHistogram(histogram, options);
  const binWidth = (histogram.max - histogram.min) / histogram.genuine.length;
  const tarSlack = roc.tarAtFar.map((t) =>
    t.threshold === null ? null : nextOccupiedGenuine(histogram, t.threshold, binWidth) / roc.genuineCount,
  );
  return { histogram, roc, binWidth, tarSlack };
}

// The genuine count of the highest occupied bin below `threshold` (a bin edge, or Infinity).
function nextOccupiedGenuine(h: ScoreHistogram, threshold: number, binWidth: number): number {
  const top = h.genuine.length;
  let b = Number.isFinite(threshold) ? Math.round((threshold - h.min) / binWidth) - 1 : top - 1;
  while (b >= 0 && h.genuine[b]! + h.impostor[b]! === 0) b--;
  return b < 0 ? 0 : h.genuine[b]!;
}
