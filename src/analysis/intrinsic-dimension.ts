// The intrinsic-dimension protocol of ReFO (supplementary sec. 2) as one call: L2-normalize, sample 1% of the
// embeddings (or a given count) with a fixed seed, estimate TwoNN on 20 random 90% subsets of the sample, report
// the mean and standard deviation; and a 95% interval for the sampling of the points (id-interval.ts says how).
//
// Neighbour work is shared exactly across the repetitions: every sample point's k nearest neighbours are found
// once on the whole sample; within a subset, a member's two nearest surviving members are the first two members
// of that sorted list (any other member is at least as far as the list's last entry), unless fewer than two of
// the k are members, in which case that point is searched again exactly among the subset.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { ProcessGroup } from "../torch/distributed.js";
import { nearestNeighbours, nearestNeighboursAmong, type Neighbours } from "./neighbours.js";
import { Rng, deriveSeed } from "../data/index.js";
import { HALF_SAMPLE_STREAM, MIN_SAMPLE_SIZE, normalInterval, type IdInterval } from "./id-interval.js";
import { sampleIndices } from "./sampling.js";
import { twoNN, type TwoNNOptions, type TwoNNVariant } from "./twonn.js";

export interface IntrinsicDimensionOptions extends TwoNNOptions {
  /** The share of rows to sample (default 0.01); ignored when sampleSize is given. */
  sampleFraction?: number;
  /** The number of rows to sample. */
  sampleSize?: number;
  /** Seed of the sample and of the subsets (default 0). */
  seed?: number;
  /** Subsets to estimate on (default 20). */
  repetitions?: number;
  /** Each subset's share of the sample (default 0.9). */
  subsetFraction?: number;
  /** L2-normalize the rows first (default true; false for data whose geometry is not on the sphere). */
  normalize?: boolean;
  /** Neighbours kept per sample point for the subsets (default 8). */
  neighbours?: number;
  /** Tile size of the neighbour search (default 4096). */
  blockSize?: number;
  /** Random half-samples behind the interval (default 100). */
  halfSamples?: number;
  /** Several ranks (a collective): each searches the neighbours of its share of the sample, and every rank gets
   *  the same result. */
  group?: ProcessGroup;
}

export interface IntrinsicDimensionResult {
  variant: TwoNNVariant;
  /** Mean and population standard deviation of the subset estimates. */
  mean: number;
  std: number;
  estimates: number[];
  /** The estimate on the whole sample. */
  sampleEstimate: number;
  sampleSize: number;
  subsetSize: number;
  /** Subset and half-sample points with fewer than two members among their k neighbours, searched again. */
  researched: number;
  /** 95% interval around the mean for the sampling of the points (from the half-samples). */
  interval: IdInterval;
  /** The estimates on random halves of the sample: the same halves for every model measured with the same seed and
   *  sample size, so that two models' gap has a paired interval (pairedGap). */
  halfSampleEstimates: number[];
  /** The sample is below MIN_SAMPLE_SIZE points: the estimate's downward bias may exceed the interval. */
  smallSample: boolean;
}

export function intrinsicDimension(
  embeddings: Tensor,
  options: IntrinsicDimensionOptions = {},
): IntrinsicDimensionResult {
  const n = embeddings.shape[0]!;
  const sampleSize = options.sampleSize ?? Math.max(3, Math.round(n * (options.sampleFraction ?? 0.01)));
  const subsetSize = Math.floor(sampleSize * (options.subsetFraction ?? 0.9));
  const repetitions = options.repetitions ?? 20;
  const halfSamples = options.halfSamples ?? 100;
  const k = Math.min(options.neighbours ?? 8, sampleSize - 1);
  if (embeddings.ndim !== 2 || sampleSize > n || subsetSize < 3 || !(repetitions >= 1))
    throw new Error(
      `intrinsicDimension: cannot take ${repetitions} subsets of ${subsetSize} from a sample of ${sampleSize} of ` +
        `[${embeddings.shape}] embeddings; check sampleSize, sampleFraction, subsetFraction and repetitions`,
    );
  if (!Number.isInteger(halfSamples) || halfSamples < 2 || sampleSize < 6)
    throw new Error(
      `intrinsicDimension: the interval needs halfSamples >= 2 (got ${halfSamples}) and a sample of at least 6 ` +
        `points (got ${sampleSize})`,
    );
  const seed = options.seed ?? 0;
  const random = new Rng(seed);
  const normalize = options.normalize ?? true;
  return torch.noGrad(() =>
    torch.tidy(() => {
      const rows = torch.tensor(sampleIndices(n, sampleSize, random)).to("int64");
      let x = embeddings.index([rows]).to("float32");
      if (!x.isfinite().all().item())
        throw new Error("intrinsicDimension: the sampled embeddings contain NaN or infinite values");
      if (normalize) x = torch.nn.functional.normalize(x, 2, 1);
      const search = { unitNorm: normalize, blockSize: options.blockSize };
      const neighbours =
        options.group !== undefined && options.group.worldSize > 1
          ? shardedNeighbours(x, k, search, options.group)
          : nearestNeighbours(x, k, search);
      const sampleEstimate = twoNN(neighbours.distances.select(1, 0), neighbours.distances.select(1, 1), options);
      const estimates: number[] = [];
      let researched = 0;
      for (let r = 0; r < repetitions; r++) {
        const members = torch.tensor(sampleIndices(sampleSize, subsetSize, random)).to("int64");
        const { r1, r2, again } = torch.tidy(() => twoNearestMembers(x, neighbours, members, search));
        researched += again;
        estimates.push(twoNN(r1, r2, options));
      }
      const mean = estimates.reduce((a, b) => a + b, 0) / repetitions;
      const std = Math.sqrt(estimates.reduce((a, b) => a + (b - mean) ** 2, 0) / repetitions);
      // a stream of its own, so that the halves depend on the seed and the sample size only
      const halving = new Rng(deriveSeed(seed, HALF_SAMPLE_STREAM));
      const halfSampleEstimates: number[] = [];
      for (let h = 0; h < halfSamples; h++) {
        const members = torch.tensor(sampleIndices(sampleSize, Math.floor(sampleSize / 2), halving)).to("int64");
        const { r1, r2, again } = torch.tidy(() => twoNearestMembers(x, neighbours, members, search));
        researched += again;
        halfSampleEstimates.push(twoNN(r1, r2, options));
      }
      return {
        variant: options.variant ?? "skdim",
        mean,
        std,
        estimates,
        sampleEstimate,
        sampleSize,
        subsetSize,
        researched,
        interval: normalInterval(mean, halfSampleEstimates),
        halfSampleEstimates,
        smallSample: sampleSize < MIN_SAMPLE_SIZE,
      };
    }),
  );
}

// The k nearest neighbours of every sample point, each rank searching those of a contiguous share of the points.
function shardedNeighbours(
  x: Tensor,
  k: number,
  search: { unitNorm: boolean; blockSize?: number },
  group: ProcessGroup,
): Neighbours {
  const n = x.shape[0]!;
  const share = Math.ceil(n / group.worldSize);
  const start = Math.min(n, group.rank * share);
  const queries = torch.arange(start, Math.min(n, start + share), 1, { dtype: "int64" });
  const everyone = torch.ones([n], { dtype: "bool" });
  const mine = queries.numel() > 0 ? nearestNeighboursAmong(x, queries, everyone, k, search) : null;
  const rows = (part: keyof Neighbours, dtype: "float64" | "int64") =>
    torch.gatherRows(group, mine?.[part] ?? torch.zeros([0, k], { dtype }), queries, n);
  return { distances: rows("distances", "float64"), indices: rows("indices", "int64") };
}

// r1, r2 of each subset member within the subset, from the shared neighbour lists (see the header).
function twoNearestMembers(
  x: Tensor,
  neighbours: Neighbours,
  members: Tensor,
  search: { unitNorm: boolean; blockSize?: number },
): { r1: Tensor; r2: Tensor; again: number } {
  const n = x.shape[0]!;
  const isMember = torch.aten.index_put_(
    torch.zeros([n], { dtype: "bool" }),
    [members],
    torch.ones([1], { dtype: "bool" }),
  );
  const survives = isMember.index([neighbours.indices]);
  const rank = survives.to("int32").cumsum(1);
  const first = torch.aten.logical_and(survives, rank.eq(1));
  const second = torch.aten.logical_and(survives, rank.eq(2));
  const r1 = torch.where(first, neighbours.distances, 0).sum(1);
  const r2 = torch.where(second, neighbours.distances, 0).sum(1);
  const lacking = torch.aten.logical_and(rank.select(1, rank.shape[1]! - 1).lt(2), isMember);
  const again = lacking.sum().item();
  if (again > 0) {
    const queries = torch.aten.nonzero(lacking).flatten();
    const exact = nearestNeighboursAmong(x, queries, isMember, 2, search);
    torch.aten.index_put_(r1, [queries], exact.distances.select(1, 0));
    torch.aten.index_put_(r2, [queries], exact.distances.select(1, 1));
  }
  return { r1: r1.index([members]), r2: r2.index([members]), again };
}
