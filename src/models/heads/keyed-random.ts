// Random numbers as a function of (key, index), computed on tensors: a sharded head draws the same number for a
// class whatever the world size and whichever rank holds it, without touching (or depending on) libtorch's
// global generator, which every rank may have seeded alike. The mixing is multiply / add-shift rounds modulo 2^32
// on int64 (the addon exposes no bitwise ops), good enough to pick negatives and initialise centres.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { deriveSeed } from "../../data/index.js";

const M32 = 2 ** 32;
// odd multipliers below 2^29, so that x * a < 2^61 stays exact in int64
const ROUNDS = [0x045d9f3b, 0x119de1f3, 0x0b5297a5];

function mix(x: Tensor): Tensor {
  return torch.tidy(() => {
    let h = x;
    for (const a of ROUNDS) {
      h = h.add(h.div(2 ** 16, "floor")).remainder(M32); // stands in for h ^= h >> 16
      h = h.mul(a).remainder(M32);
    }
    return h.add(h.div(2 ** 15, "floor")).remainder(M32);
  });
}

/** Uniform float32 numbers in (0, 1), one per int64 `index` (any shape), fixed by `key` (e.g. deriveSeed(seed, step)). */
export function keyedUniform(key: number, index: Tensor): Tensor {
  return torch.tidy(() => {
    // the index enters modulo 2^32 after a first mix of its high part, so that large indices do not alias
    const high = index.div(M32, "floor");
    const low = index.remainder(M32);
    const h = mix(
      low
        .add(mix(high.add(deriveSeed(key, 1) % M32)))
        .remainder(M32)
        .add(deriveSeed(key, 2)),
    );
    return h.float().add(0.5).div(M32);
  });
}

/**
 * Standard normal float32 samples [rows, cols] for rows firstRow.. of a [*, cols] matrix fixed by `key`: entry
 * (r, c) is the same whichever block of rows it is drawn in (Box-Muller over two keyed uniforms).
 */
export function keyedNormal(key: number, firstRow: number, rows: number, cols: number): Tensor {
  return torch.tidy(() => {
    const index = torch.arange(firstRow * cols, (firstRow + rows) * cols, 1, { dtype: "int64" }).reshape([rows, cols]);
    const radius = keyedUniform(deriveSeed(key, 3), index).log().mul(-2).sqrt();
    return radius.mul(
      keyedUniform(deriveSeed(key, 4), index)
        .mul(2 * Math.PI)
        .cos(),
    );
  });
}
