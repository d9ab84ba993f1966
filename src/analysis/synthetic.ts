// Point sets of known intrinsic dimension, embedded linearly in a high-dimensional space, to validate the
// intrinsic-dimension estimators: uniform in the d-cube [0, 1]^d, uniform on the d-sphere S^d (in R^(d+1)), and
// the swiss roll (a 2-d sheet rolled up in R^3). The embedding multiplies by a Gaussian random matrix
// [d_in, ambient], which for ambient >> d_in is close to a scaled isometry.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

export const KNOWN_DIMENSION_SETS = ["cube", "sphere", "swiss-roll"] as const;
export type KnownDimensionSet = (typeof KNOWN_DIMENSION_SETS)[number];

export interface KnownDimensionOptions {
  /** Dimension of the embedding space (default 512). */
  ambient?: number;
  /** Seeds libtorch's global generator first (default 0). */
  seed?: number;
}

/**
 * `n` points of intrinsic dimension `d` ("swiss-roll" needs d = 2) as an [n, ambient] float32 tensor.
 * Reseeds libtorch's global generator with `seed`.
 */
export function knownDimensionSet(
  kind: KnownDimensionSet,
  n: number,
  d: number,
  options: KnownDimensionOptions = {},
): Tensor {
  if (!Number.isInteger(d) || d < 1 || (kind === "swiss-roll" && d !== 2))
    throw new Error(`knownDimensionSet: '${kind}' cannot have intrinsic dimension ${d} (the swiss roll is 2-d)`);
  torch.manualSeed(options.seed ?? 0);
  return torch.noGrad(() =>
    torch.tidy(() => {
      const local = localCoordinates(kind, n, d);
      return local.mm(torch.randn([local.shape[1]!, options.ambient ?? 512]));
    }),
  );
}

function localCoordinates(kind: KnownDimensionSet, n: number, d: number): Tensor {
  switch (kind) {
    case "cube":
      return torch.rand([n, d]);
    case "sphere":
      return torch.nn.functional.normalize(torch.randn([n, d + 1]), 2, 1);
    case "swiss-roll": {
      // t in [1.5 pi, 4.5 pi] along the roll, height in [0, 21]: (t cos t, height, t sin t)
      const t = torch
        .rand([n])
        .mul(3 * Math.PI)
        .add(1.5 * Math.PI);
      const height = torch.rand([n]).mul(21);
      return torch.stack([t.mul(t.cos()), height, t.mul(t.sin())], 1);
    }
    default:
      throw new Error(`knownDimensionSet: unknown set '${String(kind)}' (expected ${KNOWN_DIMENSION_SETS.join(", ")})`);
  }
}
