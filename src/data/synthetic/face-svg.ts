// Draws one synthetic face as SVG: every shape is built in face units, each vertex projected through the 2.5D
// head (so pose foreshortens and shifts features by their depth), then painted back to front. This file holds the
// order of painting and the head's own shapes (outline, background, neck and clothes, ears); the features, skin,
// hair and accessories have files of their own.
import { hex, shade, type Rgb } from "./color.js";
import { glasses, occlusion } from "./face-accessories.js";
import { brow, eye, mouth, nose } from "./face-features.js";
import { backHair, facialHair, frontHair } from "./face-hair.js";
import { layoutFace, type FaceLayout } from "./face-layout.js";
import { range, type Painter } from "./face-painter.js";
import { skinDetails } from "./face-skin.js";
import { Head, type Point } from "./head.js";
import type { Identity, Traits } from "./identity.js";
import type { Nuisance } from "./nuisance.js";
import { ellipsePoints, smoothPath, Svg } from "./svg.js";

export interface DrawnFace {
  svg: string;
  /** The head as an ellipse in image units (-1..1), for the lighting pass. */
  head: { cx: number; cy: number; rx: number; ry: number };
}

export function drawFace(identity: Identity, traits: Traits, nuisance: Nuisance, size: number): DrawnFace {
  const f = layoutFace(traits, nuisance);
  const head = new Head(f.head, nuisance);
  const svg = new Svg();
  const surface = (points: readonly Point[], closed: boolean, lift = 0): string =>
    smoothPath(
      points.map(([x, y]) => head.project(x, y, lift)),
      closed,
    );
  const outline = smoothPath(
    faceOutline(f).map(([x, y]) => head.silhouette(x, y)),
    true,
  );
  const p: Painter = { svg, head, f, surface, faceClip: svg.clip(outline) };

  background(p, nuisance);
  backHair(p);
  neckAndClothes(p, nuisance.clothes);
  ears(p);
  svg.fill(outline, svg.radialFill(f.skin, shade(f.skin, 0.86), 0.5, 0.42, 0.7));
  skinDetails(p, identity);
  for (const side of [-1, 1]) eye(p, side);
  for (const side of [-1, 1]) brow(p, side);
  nose(p);
  mouth(p);
  facialHair(p);
  frontHair(p);
  if (f.glasses) glasses(p);
  if (nuisance.occlusion) occlusion(p, nuisance.occlusion);
  const [cx, cy] = head.silhouette(0, f.head.cy);
  const rx = Math.hypot(...minus(head.silhouette(f.head.rx, f.head.cy), [cx, cy]));
  const ry = Math.hypot(...minus(head.silhouette(0, f.head.cy + f.head.ry), [cx, cy]));
  return { svg: svg.toString(size), head: { cx, cy, rx, ry } };
}

function minus(a: Point, b: Point): [number, number] {
  return [a[0] - b[0], a[1] - b[1]];
}

/** The face outline in face units: an ellipse over the cheekbones, a superellipse jaw down to the chin. */
function faceOutline(f: FaceLayout): Point[] {
  const { halfWidth: a, cheekY, chinY, topY, jawPower: q, chinHalf } = f;
  const jaw = (s: number): number => chinHalf + (a - chinHalf) * (1 - s ** q) ** (1 / q);
  const lower = range(12).map((i) => i / 11);
  const right = lower.map((s) => [jaw(s), cheekY + s * (chinY - cheekY)] as Point);
  const upper = range(13).map((i) => {
    const t = Math.PI * (1 - i / 12);
    return [a * Math.cos(t), cheekY - (cheekY - topY) * Math.sin(t)] as Point;
  });
  return [...right, [0, chinY + 0.015], ...right.map(([x, y]) => [-x, y] as Point).reverse(), ...upper.slice(1, -1)];
}

function background(p: Painter, n: Nuisance): void {
  const { svg } = p;
  svg.fillAll(svg.linearFill(n.background.from, n.background.to, n.background.angle));
  for (const blob of n.background.blobs) {
    svg.fill(smoothPath(ellipsePoints(blob.x, blob.y, blob.r, blob.r, 0, 8), true), svg.softFill(blob.color, 0.7));
  }
}

function neckAndClothes(p: Painter, clothes: Rgb): void {
  const { f, head, svg } = p;
  const w = f.halfWidth * 0.55;
  const neck: Point[] = [
    [-w, f.cheekY + 0.3],
    [-w * 1.05, 1.3],
    [w * 1.05, 1.3],
    [w, f.cheekY + 0.3],
  ];
  svg.fill(
    smoothPath(
      neck.map(([x, y]) => head.body(x, y)),
      true,
    ),
    hex(shade(f.skin, 0.72)),
  );
  const shoulders = ellipsePoints(0, f.chinY + 0.72, 1.5, 0.5, 0, 20).map(([x, y]) => head.body(x, y));
  svg.fill(smoothPath(shoulders, true), svg.radialFill(clothes, shade(clothes, 0.6), 0.5, 0.2, 0.9));
}

function ears(p: Painter): void {
  const { f, head, svg } = p;
  for (const side of [-1, 1]) {
    const cx = side * f.halfWidth * 0.98;
    const cy = f.eye.y + 0.1;
    const shape = ellipsePoints(cx + side * 0.03, cy, 0.055 + 0.2 * f.ear.size * 0.3, f.ear.size, side * 0.15, 12);
    const projected = shape.map(([x, y]) => head.project(x, y, -0.3 * f.head.rz));
    svg.fill(smoothPath(projected, true), hex(shade(f.skin, 0.88)));
    const inner = ellipsePoints(cx + side * 0.035, cy + 0.01, 0.025, f.ear.size * 0.6, side * 0.15, 10);
    svg.stroke(
      smoothPath(
        inner.map(([x, y]) => head.project(x, y, -0.3 * f.head.rz)),
        true,
      ),
      shade(f.skin, 0.7),
      0.012,
      0.6,
    );
  }
}
