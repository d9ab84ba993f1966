// Confidence intervals for the study's claims: the mean of a few runs (one per seed) and the mean of paired
// differences, with Student's t interval (the runs are few, so the normal approximation would be too narrow).
import jStat from "jstat";

export interface MeanInterval {
  /** Runs the mean is over. */
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); 0 for one run. */
  std: number;
  /** The interval's bounds at `level`; null for a single run, which has no spread to go by. */
  low: number | null;
  high: number | null;
  level: number;
}

/**
 * The mean of `values` with its two-sided Student-t confidence interval at `level` (default 95%), cut to `range`
 * where the quantity cannot leave it (a proportion: [0, 1]; two runs' t interval is wide enough to pass 100%).
 */
export function meanInterval(
  values: readonly number[],
  level = 0.95,
  range: readonly [number, number] = [-Infinity, Infinity],
): MeanInterval {
  if (values.length === 0) throw new RangeError("meanInterval: no values");
  if (!(level > 0 && level < 1)) throw new RangeError(`meanInterval: level must be in (0, 1), got ${level}`);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { n, mean, std: 0, low: null, high: null, level };
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = jStat.studentt.inv(0.5 + level / 2, n - 1) * (std / Math.sqrt(n));
  return { n, mean, std, low: Math.max(range[0], mean - half), high: Math.min(range[1], mean + half), level };
}

/** The range of a proportion (an accuracy, a TAR). */
export const PROPORTION: readonly [number, number] = [0, 1];

/** The mean difference a - b over pairs (a[i], b[i]) from the same seed, with its interval: pairing removes the
 *  variation that both runs of a seed share (its data, its S'), which unpaired intervals would count twice. */
export function pairedDifference(a: readonly number[], b: readonly number[], level = 0.95): MeanInterval {
  if (a.length !== b.length) throw new RangeError(`pairedDifference: ${a.length} values against ${b.length}`);
  return meanInterval(
    a.map((x, i) => x - b[i]!),
    level,
  );
}
