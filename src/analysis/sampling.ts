// Repeatable random choices of row indices from the seeded generator, so that sampling for an analysis never
// disturbs, or depends on, training randomness.
import { Rng } from "../data/index.js";

/** `count` distinct indices drawn uniformly from [0, n), ascending. */
export function sampleIndices(n: number, count: number, random: Rng): Int32Array {
  if (!Number.isInteger(count) || count < 0 || count > n)
    throw new RangeError(`sampleIndices: cannot draw ${count} distinct indices from ${n}`);
  return shuffledPrefix(n, count, random).sort();
}

/** 0 .. n-1 in a uniformly random order. */
export function permutation(n: number, random: Rng): Int32Array {
  return shuffledPrefix(n, n, random);
}

// The first `count` entries of a Fisher-Yates shuffle of 0 .. n-1.
function shuffledPrefix(n: number, count: number, random: Rng): Int32Array {
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + random.below(n - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
