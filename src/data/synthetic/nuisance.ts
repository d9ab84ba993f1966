// What changes between two photos of one person: pose, expression, light, occlusion, background, blur, noise
// and JPEG quality. `strength` scales every range (1 = the default mix, 0 = frontal studio photos).
import type { Rng } from "../rng.js";
import { CLOTHES, along, mix, type Rgb } from "./color.js";

export type OcclusionKind = "hand" | "mask" | "sunglasses" | "cap" | "object";

export interface Occlusion {
  kind: OcclusionKind;
  x: number;
  y: number;
  size: number;
  angle: number;
  color: Rgb;
}

export interface Nuisance {
  /** Head rotation in radians: yaw (left-right), pitch (up-down), roll (residual after alignment). */
  yaw: number;
  pitch: number;
  roll: number;
  /** Alignment error: shift (face units) and scale. */
  shiftX: number;
  shiftY: number;
  scale: number;
  smile: number;
  mouthOpen: number;
  eyeOpen: number;
  browRaise: number;
  /** Light direction (unit vector toward the light, camera space), ambient and direct strength, colour. */
  light: { x: number; y: number; z: number; ambient: number; direct: number; tint: Rgb };
  occlusion: Occlusion | null;
  background: { from: Rgb; to: Rgb; angle: number; blobs: { x: number; y: number; r: number; color: Rgb }[] };
  clothes: Rgb;
  /** Glasses left off in this photo (for people who wear them). */
  glassesOff: boolean;
  /** Gaussian blur sigma in pixels at 112x112, additive noise sigma (0-255 scale), JPEG quality. */
  blur: number;
  noise: number;
  jpegQuality: number;
}

const OCCLUSIONS: readonly OcclusionKind[] = ["hand", "mask", "sunglasses", "cap", "object"];

function randomColor(rng: Rng): Rgb {
  return [rng.uniform(20, 235), rng.uniform(20, 235), rng.uniform(20, 235)];
}

// backgrounds of photos: mostly muted colours
function backgroundColor(rng: Rng): Rgb {
  const grey = rng.uniform(40, 220);
  return mix([grey, grey, grey], randomColor(rng), rng.uniform(0.15, 0.6));
}

export function sampleNuisance(rng: Rng, strength: number): Nuisance {
  const s = strength;
  const sym = (range: number): number => rng.uniform(-range, range) * s;
  const azimuth = rng.uniform(0, 2 * Math.PI);
  const elevation = Math.PI / 2 - rng.uniform(0, 1.1) * Math.min(1, s);
  const warmth = sym(0.12);
  const occluded = rng.bool(0.22 * Math.min(1, s));
  return {
    yaw: rng.normal() * 0.3 * s,
    pitch: rng.normal() * 0.14 * s,
    roll: rng.normal() * 0.05 * s,
    shiftX: rng.normal() * 0.03 * s,
    shiftY: rng.normal() * 0.03 * s,
    scale: 1 + rng.normal() * 0.05 * s,
    smile: Math.max(0, rng.uniform(-0.3, 1)) * Math.min(1, s + 0.2),
    mouthOpen: rng.bool(0.25 * Math.min(1, s)) ? rng.uniform(0.2, 1) : 0,
    eyeOpen: rng.bool(0.06 * Math.min(1, s)) ? rng.uniform(0.05, 0.3) : 1 + sym(0.2),
    browRaise: sym(1),
    light: {
      x: Math.cos(azimuth) * Math.cos(elevation),
      y: Math.sin(azimuth) * Math.cos(elevation),
      z: Math.sin(elevation),
      ambient: 0.45 + rng.uniform(0, 0.3) * (1 - 0.4 * Math.min(1, s)),
      direct: rng.uniform(0.35, 0.75),
      tint: [1 + warmth + sym(0.04), 1 + sym(0.04), 1 - warmth + sym(0.04)],
    },
    occlusion: occluded
      ? {
          kind: rng.pick(OCCLUSIONS),
          x: rng.uniform(-0.5, 0.5),
          y: rng.uniform(-0.2, 0.8),
          size: rng.uniform(0.25, 0.5),
          angle: rng.uniform(-0.6, 0.6),
          color: randomColor(rng),
        }
      : null,
    background: {
      from: backgroundColor(rng),
      to: backgroundColor(rng),
      angle: rng.uniform(0, 360),
      blobs: Array.from({ length: rng.int(4) }, () => ({
        x: rng.uniform(-1, 1),
        y: rng.uniform(-1, 1),
        r: rng.uniform(0.1, 0.5),
        color: backgroundColor(rng),
      })),
    },
    clothes: mix(along(CLOTHES, rng.next()), randomColor(rng), 0.3),
    glassesOff: rng.bool(0.15 * Math.min(1, s)),
    blur: rng.bool(0.5 * Math.min(1, s)) ? rng.uniform(0.3, 1.6) * s : 0,
    noise: rng.uniform(0, 7) * s,
    jpegQuality: Math.round(Math.max(30, 95 - rng.uniform(0, 55) * s)),
  };
}
