// A 95% interval for a TwoNN estimate that covers the sampling of the points, by half-sample replication
// (McCarthy 1969; Efron & Tibshirani 1993, ch. 9): the estimates on random halves of the sample spread about as
// much as the whole sample's estimate does from one sample to the next, since for an estimator of variance v / n
// the halves' spread about the whole is v / (n / 2) - v / n = v / n. The interval is mean +- 1.96 times that
// spread. Against the spread of the estimate over 10-20 independent samples (uniform 6-cube of 20,000 points,
// samples of 200 and 1,000; sphere S^10, samples of 250 to 1,000), the alternatives:
// - resampling points with replacement duplicates them: r1 = 0, mu infinite;
// - a bootstrap over the per-point ratios mu treats them as independent, as the TwoNN likelihood does (Facco et
//   al. 2017), but neighbouring points share neighbours and their mu are correlated: 0.6 to 0.8 of the spread;
// - the protocol's 90% subsets as a delete-d jackknife (Shao & Wu 1989: 3 x their std) assume a smooth statistic;
//   removing 10% of the points changes the neighbours of many more: 1.6 times the spread;
// - fresh subsamples of the file are exact but need a file much larger than the sample and a neighbour search
//   each, and are impossible where the file is the sample (a refo run's D1 sample);
// - half-samples: 1.15 to 1.4 times the spread (on the safe side), reusing the sample's neighbour lists.
// The interval covers sampling noise, not the estimator's bias, which falls with the sample size: see
// MIN_SAMPLE_SIZE.

/** 95% interval; `level` is its coverage. */
export interface IdInterval {
  low: number;
  high: number;
  level: number;
}

/**
 * Samples smaller than this are flagged: on the sphere S^10 (20,000 points) the estimate of a sample of 250 falls
 * short of the estimate on all points by more than the interval's half-width (1.51 against 1.47), of 500 by 0.98
 * against 1.13, of 1,000 by 0.76 against 0.87; cubes and higher dimensions fare worse (src/analysis/README.md).
 */
export const MIN_SAMPLE_SIZE = 1000;

/** The generator stream of the half-samples, apart from the protocol's (deriveSeed(seed, HALF_SAMPLE_STREAM)). */
export const HALF_SAMPLE_STREAM = 0x4a1f;

const Z95 = 1.959964;

function spread(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1));
}

/** `estimate` +- 1.96 times the spread of its half-sample estimates. */
export function normalInterval(estimate: number, halfSampleEstimates: readonly number[]): IdInterval {
  const width = Z95 * spread(halfSampleEstimates);
  return { low: estimate - width, high: estimate + width, level: 0.95 };
}

/** What pairedGap needs of an intrinsicDimension result (results.json keeps these fields). */
export interface PairableId {
  mean: number;
  sampleSize: number;
  halfSampleEstimates: readonly number[];
}

/** a's ID minus b's, with a 95% interval. */
export interface IdGap {
  gap: number;
  interval: IdInterval;
}

/**
 * The gap a - b between two models' IDs measured on the same rows with the same seed: each half-sample's gap is
 * taken on the same points for both, so what the two share (which points were sampled) cancels and the interval
 * is narrower than the two intervals would suggest.
 */
export function pairedGap(a: PairableId, b: PairableId, names: readonly [string, string] = ["a", "b"]): IdGap {
  const halves = a.halfSampleEstimates.length;
  if (a.sampleSize !== b.sampleSize || halves !== b.halfSampleEstimates.length || halves < 2)
    throw new Error(
      `pairedGap: ${names[0]} (${a.sampleSize} points, ${halves} half-samples) and ${names[1]} ` +
        `(${b.sampleSize} points, ${b.halfSampleEstimates.length} half-samples) were not measured on the same ` +
        `sample; measure both with the same rows, seed and halfSamples`,
    );
  const gaps = a.halfSampleEstimates.map((x, i) => x - b.halfSampleEstimates[i]!);
  const gap = a.mean - b.mean;
  return { gap, interval: normalInterval(gap, gaps) };
}
