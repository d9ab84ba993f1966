// The 2.5D head: face points lie on an ellipsoid (plus the nose), are rotated by yaw and pitch, projected
// orthographically, and then aligned as a face detector would: a similarity transform that puts the eyes level
// at the arcface 112x112 template positions and fixes the eye-to-mouth distance, plus some alignment error.
// Every vertex of every shape goes through project(), which is the warp.
import type { Nuisance } from "./nuisance.js";

export type Point = readonly [number, number];

export interface HeadShape {
  /** Ellipsoid semi-axes (x, y, depth) and centre height, in face units (the image spans -1..1). */
  rx: number;
  ry: number;
  rz: number;
  cy: number;
  /** Landmarks in face units (before pose): the eyes' centres (symmetric) and the mouth centre. */
  eyeX: number;
  eyeY: number;
  mouthY: number;
}

// arcface_torch's 5-point template for 112x112 crops, in -1..1 units: eye centre line and mouth centre
const TEMPLATE_EYE_Y = 51.6 / 56 - 1;
const TEMPLATE_MOUTH_Y = 92.3 / 56 - 1;

export class Head {
  readonly shape: HeadShape;
  readonly #cosYaw: number;
  readonly #sinYaw: number;
  readonly #cosPitch: number;
  readonly #sinPitch: number;
  // the alignment similarity: [a, -b; b, a] * p + t
  #a = 1;
  #b = 0;
  #tx = 0;
  #ty = 0;

  constructor(shape: HeadShape, pose: Nuisance) {
    this.shape = shape;
    this.#cosYaw = Math.cos(pose.yaw);
    this.#sinYaw = Math.sin(pose.yaw);
    this.#cosPitch = Math.cos(pose.pitch);
    this.#sinPitch = Math.sin(pose.pitch);
    const left = this.#rotate(-shape.eyeX, shape.eyeY, this.depth(-shape.eyeX, shape.eyeY));
    const right = this.#rotate(shape.eyeX, shape.eyeY, this.depth(shape.eyeX, shape.eyeY));
    const mouth = this.#rotate(0, shape.mouthY, this.depth(0, shape.mouthY));
    const mid: Point = [(left[0] + right[0]) / 2, (left[1] + right[1]) / 2];
    const angle = -Math.atan2(right[1] - left[1], right[0] - left[0]) + pose.roll;
    const eyeToMouth = Math.hypot(mouth[0] - mid[0], mouth[1] - mid[1]);
    const scale = ((TEMPLATE_MOUTH_Y - TEMPLATE_EYE_Y) / eyeToMouth) * pose.scale;
    this.#a = scale * Math.cos(angle);
    this.#b = scale * Math.sin(angle);
    this.#tx = pose.shiftX - (this.#a * mid[0] - this.#b * mid[1]);
    this.#ty = TEMPLATE_EYE_Y + pose.shiftY - (this.#b * mid[0] + this.#a * mid[1]);
  }

  /** Depth of the head surface at face point (x, y); 0 on and beyond the rim. */
  depth(x: number, y: number): number {
    const { rx, ry, rz, cy } = this.shape;
    const q = 1 - (x / rx) ** 2 - ((y - cy) / ry) ** 2;
    return q > 0 ? rz * Math.sqrt(q) : 0;
  }

  /** Image position of face point (x, y), `lift` above the surface (e.g. the nose tip, glasses). */
  project(x: number, y: number, lift = 0): Point {
    const [u, v] = this.#rotate(x, y, this.depth(x, y) + lift);
    return this.#align(u, v);
  }

  /**
   * Image position of an outline point (x, y): the head's silhouette, which for an ellipsoid turned by yaw and
   * pitch widens toward sqrt(rx² cos² + rz² sin²) instead of following any one surface point.
   */
  silhouette(x: number, y: number): Point {
    const { rx, ry, rz, cy } = this.shape;
    const sx = Math.sqrt(this.#cosYaw ** 2 + (rz / rx) ** 2 * this.#sinYaw ** 2);
    const sy = Math.sqrt(this.#cosPitch ** 2 + (rz / ry) ** 2 * this.#sinPitch ** 2);
    return this.#align(x * sx, cy + (y - cy) * sy);
  }

  /** Image position of a point that does not turn with the head (neck, shoulders). */
  body(x: number, y: number): Point {
    return this.#align(x, y);
  }

  /** The image-space scale of face units (for line widths). */
  get scale(): number {
    return Math.hypot(this.#a, this.#b);
  }

  /** How much the surface at (x, y) faces the camera after rotation (1 = straight on), for hiding far parts. */
  facing(x: number, y: number): number {
    const { rx, ry, cy } = this.shape;
    const nx = x / rx;
    const ny = (y - cy) / ry;
    const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
    const z1 = -nx * this.#sinYaw + nz * this.#cosYaw;
    return ny * this.#sinPitch + z1 * this.#cosPitch;
  }

  #align(u: number, v: number): Point {
    return [this.#a * u - this.#b * v + this.#tx, this.#b * u + this.#a * v + this.#ty];
  }

  #rotate(x: number, y: number, z: number): Point {
    const x1 = x * this.#cosYaw + z * this.#sinYaw;
    const z1 = -x * this.#sinYaw + z * this.#cosYaw;
    return [x1, y * this.#cosPitch - z1 * this.#sinPitch];
  }
}
