// The arcface five-point template: where the left eye, right eye, nose tip, left and right mouth corners of an
// aligned 112x112 crop lie (insightface's `arcface_dst`). Other sizes scale it as insightface's `estimate_norm`
// does: multiples of 112 scale it; multiples of 128 scale it and shift it right by 8/128 of the width, which
// centres the 112-wide face in a 128-wide crop. Any other size (a small model's input) scales the 112 crop: the
// crop a 112 model sees, resized.

/** (x, y) in pixels, x to the right and y down, (0, 0) the centre of the top-left pixel (OpenCV's convention). */
export type Point = readonly [number, number];

/** Landmark order of every five-point list. */
export const FIVE_POINT_NAMES = ["left eye", "right eye", "nose tip", "left mouth corner", "right mouth corner"];

const ARCFACE_112: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** The template for a square crop of `size` pixels. */
export function arcfaceTemplate(size = 112): Point[] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`arcfaceTemplate: crop size ${size} is not a size`);
  const wide = size % 112 !== 0 && size % 128 === 0;
  const ratio = wide ? size / 128 : size / 112;
  const shift = wide ? 8 * ratio : 0;
  return ARCFACE_112.map(([x, y]) => [x * ratio + shift, y * ratio] as const);
}
