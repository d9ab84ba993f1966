// The light of a synthetic photo, applied to a batch on the engine: directional light on the head's curved
// surface, light colour, and sensor noise. The shading is smooth, so it is computed at a quarter of the
// resolution and upsampled; the pixels stay NHWC throughout (no transposes).
import * as torch from "../../torch/index.js";
import type { Rgb } from "./color.js";

export interface PhotoEffects {
  /** The head as an ellipse in image units (-1..1): centre and radii, for the surface normals. */
  head: { cx: number; cy: number; rx: number; ry: number };
  light: { x: number; y: number; z: number; ambient: number; direct: number; tint: Rgb };
  /** Noise sigma on the 0-255 scale. */
  noise: number;
}

/** A [B, 1, 1, 1] tensor of one number per image. */
function perImage(values: number[]): torch.Tensor {
  return torch.tensor(Float32Array.from(values), { shape: [values.length, 1, 1, 1] });
}

/**
 * Applies the effects to `pixels` (B images, NHWC uint8, size x size) and returns new NHWC uint8 pixels.
 * Noise comes from libtorch's generator, which the caller seeds.
 */
export function applyPhotoEffects(pixels: Uint8Array, size: number, effects: readonly PhotoEffects[]): Uint8Array {
  const b = effects.length;
  return torch.tidy(() => {
    const shade = torch.nn.functional
      .interpolate(shading(Math.max(8, Math.round(size / 4)), effects), [size, size], "bilinear")
      .reshape([b, size, size, 1]);
    // uint8 times float32 promotes to float32: the conversion and the shading in one pass; then in place
    const img = torch.tensor(pixels, { shape: [b, size, size, 3] }).mul(shade);
    img.mul_(torch.tensor(Float32Array.from(effects.flatMap((e) => e.light.tint)), { shape: [b, 1, 1, 3] }));
    // luminance noise (one draw for the three channels)
    const sigma = torch.tensor(
      Float32Array.from(effects, (e) => e.noise),
      { shape: [b, 1, 1, 1] },
    );
    img.addcmul_(torch.randn([b, size, size, 1]), sigma);
    // + 0.5 so that the conversion, which truncates, rounds
    return img.clamp_(-0.5, 254.5).add_(0.5).to("uint8").data() as Uint8Array;
  });
}

// Lambert shading of the head ellipsoid (normals from the ellipse) and a flat lit background: [B, 1, n, n].
function shading(n: number, effects: readonly PhotoEffects[]): torch.Tensor {
  const axis = torch.linspace(-1 + 1 / n, 1 - 1 / n, n);
  const u = axis.reshape([1, 1, 1, n]);
  const v = axis.reshape([1, 1, n, 1]);
  const col = (pick: (e: PhotoEffects) => number): torch.Tensor => perImage(effects.map(pick));
  const dx = u.sub(col((e) => e.head.cx)).div(col((e) => e.head.rx));
  const dy = v.sub(col((e) => e.head.cy)).div(col((e) => e.head.ry));
  const r2 = dx.square().add(dy.square());
  const nz = r2.neg().add(1).clampMin(0).sqrt();
  const lambert = dx
    .mul(col((e) => e.light.x))
    .add(dy.mul(col((e) => e.light.y)))
    .add(nz.mul(col((e) => e.light.z)))
    .relu();
  const ambient = col((e) => e.light.ambient);
  const direct = col((e) => e.light.direct);
  const onHead = lambert.mul(direct).add(ambient);
  const offHead = direct.mul(col((e) => 0.8 * Math.max(0, e.light.z))).add(ambient);
  const inside = r2.neg().add(1).mul(10).sigmoid();
  const shade = onHead.mul(inside).add(offHead.mul(inside.neg().add(1)));
  // keep the average exposure, as a camera meters the scene
  // (and never burn out: light skin under a strong grazing light would clip to white)
  return shade.div(ambient.add(direct.mul(0.65))).clamp(0.25, 1.2);
}
