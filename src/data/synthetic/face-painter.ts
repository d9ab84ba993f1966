// The drawing context that every part of a synthetic face is painted with (drawFace in face-svg.ts makes one per
// face), and the index helper the parts share.
import type { FaceLayout } from "./face-layout.js";
import type { Head, Point } from "./head.js";
import type { Svg } from "./svg.js";

export interface Painter {
  svg: Svg;
  head: Head;
  f: FaceLayout;
  /** Projects face points on the surface (plus lift) into a smooth path. */
  surface(points: readonly Point[], closed: boolean, lift?: number): string;
  /** Clip path of the face skin. */
  faceClip: string;
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
