// What alignment needs from a face detector: boxes with the five arcface landmarks, in the image's pixels. The
// real detector (face-api.ts) derives the five points from the iBUG 68-point scheme; tests put a stub here.
import type { RgbImage } from "../codec.js";
import type { Point } from "./template.js";

export interface DetectedFace {
  /** The face box in image pixels. */
  box: { x: number; y: number; width: number; height: number };
  /** Detection confidence in 0..1. */
  score: number;
  /** Left eye, right eye, nose tip, left and right mouth corners (left as seen in the image), as FIVE_POINT_NAMES. */
  landmarks: Point[];
}

export interface FaceDetector {
  /** A short name for reports, e.g. "face-api ssd-mobilenetv1 + landmark68". */
  readonly name: string;
  detect(image: RgbImage): Promise<DetectedFace[]>;
}

/**
 * The five arcface points from the 68 iBUG 300-W landmarks (Sagonas et al. 2013), as used to build insightface's
 * five-point sets: each eye the centre of its six contour points (36-41 on the image's left, 42-47 on its right),
 * the nose tip point 30, the mouth corners 48 and 54.
 */
export function fivePointsFrom68(points: readonly Point[]): Point[] {
  if (points.length !== 68) throw new RangeError(`fivePointsFrom68: needs 68 landmarks (got ${points.length})`);
  const mean = (from: number, to: number): Point => {
    let x = 0;
    let y = 0;
    for (let i = from; i <= to; i++) {
      x += points[i]![0];
      y += points[i]![1];
    }
    const n = to - from + 1;
    return [x / n, y / n];
  };
  return [mean(36, 41), mean(42, 47), points[30]!, points[48]!, points[54]!];
}
