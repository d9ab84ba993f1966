// A tiny synthetic classification set for the trainer tests: each class is a smooth random colour pattern, each
// sample that pattern plus pixel noise, PNG-encoded in memory. `seed` draws the patterns, `noiseSeed` the noise: two
// sets with one seed and different noise seeds are two samplings of the same identities.
import { MemorySource, encodePng } from "../../src/data/index.js";

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

export interface SyntheticOptions {
  classes?: number;
  perClass?: number;
  size?: number;
  noise?: number;
  seed?: number;
  noiseSeed?: number;
  labeled?: boolean;
}

export async function syntheticSource({
  classes = 4,
  perClass = 8,
  size = 32,
  noise = 40,
  seed = 1,
  noiseSeed,
  labeled = true,
}: SyntheticOptions = {}): Promise<MemorySource> {
  const random = rng(seed);
  const cell = 8;
  const grid = size / cell;
  const patterns = Array.from({ length: classes }, () =>
    Float32Array.from({ length: grid * grid * 3 }, () => random() * 255),
  );
  const jitter = rng((noiseSeed ?? seed) + 0x9e37);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < classes * perClass; i++) {
    const c = i % classes;
    const pixels = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let k = 0; k < 3; k++) {
          const base = patterns[c]![(Math.floor(y / cell) * grid + Math.floor(x / cell)) * 3 + k]!;
          pixels[(y * size + x) * 3 + k] = Math.max(0, Math.min(255, base + (jitter() - 0.5) * 2 * noise));
        }
      }
    }
    images.push(await encodePng({ pixels, width: size, height: size }));
    labels.push(labeled ? c : -1);
  }
  return new MemorySource("synthetic", images, labels, labeled ? classes : null);
}
