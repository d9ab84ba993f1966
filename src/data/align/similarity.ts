// Least-squares similarity transforms between point sets (rotation, uniform scale, translation), as face
// alignment maps detected landmarks onto a template.

import type { Point } from "./template.js";

/** A 2x3 affine matrix [[a, b, c], [d, e, f]] mapping (x, y) to (a x + b y + c, d x + e y + f), as OpenCV's. */
export type AffineMatrix = readonly [readonly [number, number, number], readonly [number, number, number]];

/**
 * The similarity transform that maps `src` onto `dst` with the least sum of squared distances (Umeyama 1991,
 * "Least-squares estimation of transformation parameters between two point patterns"), never a reflection:
 * mirrored points get the best proper rotation. In 2-D Umeyama's SVD solution has a closed form: with centred
 * points a_i, b_i, the rotation angle is atan2(sum a x b, sum a . b) and the scale is
 * sqrt((sum a . b)^2 + (sum a x b)^2) / sum |a|^2 (that root is Umeyama's trace(DS), reflection correction
 * included).
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): AffineMatrix {
  if (src.length !== dst.length || src.length < 2) {
    throw new RangeError(
      `estimateSimilarity: needs two lists of the same length >= 2 (got ${src.length} and ${dst.length} points)`,
    );
  }
  const [sx, sy] = centroid(src);
  const [dx, dy] = centroid(dst);
  let dot = 0;
  let cross = 0;
  let spread = 0;
  src.forEach(([x, y], i) => {
    const ax = x - sx;
    const ay = y - sy;
    const bx = dst[i]![0] - dx;
    const by = dst[i]![1] - dy;
    dot += ax * bx + ay * by;
    cross += ax * by - ay * bx;
    spread += ax * ax + ay * ay;
  });
  if (!(spread > 0)) throw new RangeError("estimateSimilarity: the source points all coincide (or are not finite)");
  // scale * (cos, sin) = (dot, cross) / spread
  const a = dot / spread;
  const b = cross / spread;
  return [
    [a, -b, dx - (a * sx - b * sy)],
    [b, a, dy - (b * sx + a * sy)],
  ];
}

/** Applies a 2x3 matrix to a point. */
export function transformPoint(m: AffineMatrix, [x, y]: Point): Point {
  return [m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]];
}

/** The inverse of an invertible affine map. */
export function invertAffine(m: AffineMatrix): AffineMatrix {
  const [[a, b, c], [d, e, f]] = m;
  const det = a * e - b * d;
  if (!(Math.abs(det) > 0)) throw new RangeError("invertAffine: the matrix is singular");
  const ia = e / det;
  const ib = -b / det;
  const id = -d / det;
  const ie = a / det;
  return [
    [ia, ib, -(ia * c + ib * f)],
    [id, ie, -(id * c + ie * f)],
  ];
}

function centroid(points: readonly Point[]): Point {
  let x = 0;
  let y = 0;
  for (const p of points) {
    x += p[0];
    y += p[1];
  }
  return [x / points.length, y / points.length];
}
