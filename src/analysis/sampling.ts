// Repeatable random choices of row indices (a seeded xoshiro128** generator), independent of libtorch's global
// generator so that sampling for an analysis never disturbs, or depends on, training randomness.

/** A seeded source of uniform integers. */
export class SeededRandom {
  #s = new Uint32Array(4);

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new RangeError(`SeededRandom: seed must be a non-negative integer, got ${seed}`);
    // splitmix32 expands the seed into the four state words.
    let x = (seed ^ Math.floor(seed / 2 ** 32)) >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** The next 32 random bits (xoshiro128**). */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform integer in [0, n), n <= 2^32 (rejection sampling: no modulo bias). */
  below(n: number): number {
    const limit = 2 ** 32 - (2 ** 32 % n);
    let v: number;
    do v = this.nextUint32();
    while (v >= limit);
    return v % n;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** `count` distinct indices drawn uniformly from [0, n), ascending. */
export function sampleIndices(n: number, count: number, random: SeededRandom): Int32Array {
  if (!Number.isInteger(count) || count < 0 || count > n)
    throw new RangeError(`sampleIndices: cannot draw ${count} distinct indices from ${n}`);
  return shuffledPrefix(n, count, random).sort();
}

/** 0 .. n-1 in a uniformly random order. */
export function permutation(n: number, random: SeededRandom): Int32Array {
  return shuffledPrefix(n, n, random);
}

// The first `count` entries of a Fisher-Yates shuffle of 0 .. n-1.
function shuffledPrefix(n: number, count: number, random: SeededRandom): Int32Array {
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + random.below(n - i);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, count);
}
