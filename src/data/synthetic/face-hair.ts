// Hair: the mass behind the head, the front hair with its hairline and strands (or a bald head's side patches),
// and facial hair (stubble, goatee, moustache, full beard).
import { hex, shade } from "./color.js";
import type { FaceLayout } from "./face-layout.js";
import { range, type Painter } from "./face-painter.js";
import type { Point } from "./head.js";
import { ellipsePoints, smoothPath } from "./svg.js";

// The hair mass around the head: the skull top widened by the volume, from `lowest` on the sides over the
// top, then down to `bottom` (the length set by the style).
function hairMass(f: FaceLayout, lowest: number, bottom: number): Point[] {
  const a = f.halfWidth + f.hair.volume;
  const top = f.topY - f.hair.volume;
  const t0 = Math.asin(Math.max(0, Math.min(1, (f.cheekY - lowest) / (f.cheekY - top))));
  const arc = range(15).map((i) => {
    const t = Math.PI - t0 - ((Math.PI - 2 * t0) * i) / 14;
    return [a * Math.cos(t), f.cheekY - (f.cheekY - top) * Math.sin(t)] as Point;
  });
  return [[-a * 1.02, bottom], ...arc, [a * 1.02, bottom]];
}

export function backHair(p: Painter): void {
  const { f, head, svg } = p;
  const bottom = { bald: null, buzz: null, short: f.eye.y + 0.1, medium: 0.55, long: 1.4 }[f.hair.style];
  if (bottom === null) return;
  const mass = hairMass(f, f.cheekY, bottom).map(([x, y]) => head.silhouette(x, y));
  svg.fill(smoothPath(mass, true), svg.radialFill(f.hair.color, shade(f.hair.color, 0.7), 0.5, 0.3, 0.8));
}

export function frontHair(p: Painter): void {
  const { f, head, svg, surface } = p;
  const h = f.hair;
  if (h.style === "bald") {
    for (const side of [-1, 1]) {
      const patch = ellipsePoints(side * f.halfWidth * 0.97, f.eye.y - 0.12, 0.07, 0.16, 0, 10);
      svg.fill(
        smoothPath(
          patch.map(([x, y]) => head.silhouette(x, y)),
          true,
        ),
        hex(h.color),
        0.8,
      );
    }
    return;
  }
  const a = f.halfWidth;
  const line = h.fringe ? f.brow.y - 0.08 : h.hairline;
  const hairline: Point[] = range(11).map((i) => {
    const x = a * (0.97 - (1.94 * i) / 10);
    const temple = (Math.abs(x) / a) ** 3 * 0.18;
    const part = h.fringe ? 0.012 * Math.sin(i * 2.3) : -0.05 * Math.exp(-(((x - h.part) / 0.06) ** 2));
    return [x, line + temple + part] as Point;
  });
  const mass = hairMass(f, f.eye.y - 0.06, f.eye.y).slice(1, -1);
  const massPath = mass.map(([x, y]) => head.silhouette(x, y));
  const linePath = hairline.map(([x, y]) => head.project(x, y, 0.02));
  const sideburn = (side: number): Point[] =>
    [
      [side * a * 1.0, f.eye.y + 0.08],
      [side * a * 0.93, f.eye.y + 0.06],
    ].map(([x, y]) => head.project(x!, y!, 0));
  const shape = [...massPath, ...sideburn(1), ...linePath, ...sideburn(-1)];
  const opacity = h.style === "buzz" ? 0.75 : 1;
  svg.fill(smoothPath(shape, true), svg.radialFill(shade(h.color, 1.15), shade(h.color, 0.75), 0.5, 0.6, 0.7), opacity);
  // strands: a few lighter and darker strokes from the crown toward the hairline
  if (h.style !== "buzz") {
    for (let i = 0; i < 7; i++) {
      const x = a * (-0.8 + (1.6 * i) / 6);
      const strand: Point[] = [
        [x * 0.6, f.topY + 0.05],
        [x * 0.9, (f.topY + line) / 2],
        [x, line + 0.03],
      ];
      svg.stroke(surface(strand, false, 0.03), shade(h.color, i % 2 ? 1.3 : 0.7), 0.02, 0.35);
    }
  }
}

export function facialHair(p: Painter): void {
  const { f, svg, surface } = p;
  const { kind, density } = f.facialHair;
  if (kind === "none") return;
  const color = f.hair.color;
  const m = f.mouth;
  const mustache: Point[] = [
    [-m.halfWidth * 1.05, m.y + 0.02],
    [-m.halfWidth * 0.6, m.y - m.upper - 0.05],
    [0, m.y - m.upper - 0.06],
    [m.halfWidth * 0.6, m.y - m.upper - 0.05],
    [m.halfWidth * 1.05, m.y + 0.02],
    [0, m.y - m.upper - 0.005],
  ];
  if (kind === "stubble" || kind === "full") {
    const a = f.halfWidth * 1.05;
    const region: Point[] = [
      [-a, f.eye.y + 0.12],
      [-a, f.cheekY + 0.2],
      [-f.chinHalf, f.chinY + 0.1],
      [f.chinHalf, f.chinY + 0.1],
      [a, f.cheekY + 0.2],
      [a, f.eye.y + 0.12],
      [f.halfWidth * 0.75, f.eye.y + 0.2],
      [f.halfWidth * 0.55, f.nose.tipY + 0.02],
      [m.halfWidth + 0.03, m.y - m.upper - 0.04],
      [-m.halfWidth - 0.03, m.y - m.upper - 0.04],
      [-f.halfWidth * 0.55, f.nose.tipY + 0.02],
      [-f.halfWidth * 0.75, f.eye.y + 0.2],
    ];
    const opacity = kind === "full" ? 0.75 + 0.2 * density : 0.15 + 0.2 * density;
    svg.clipped(p.faceClip, () => svg.fill(surface(region, true), hex(color), opacity));
  }
  if (kind === "goatee" || kind === "full") {
    const goatee: Point[] = [
      [-m.halfWidth * 0.8, m.y + 0.04],
      [-m.halfWidth * 0.7, f.chinY + 0.02],
      [0, f.chinY + 0.06],
      [m.halfWidth * 0.7, f.chinY + 0.02],
      [m.halfWidth * 0.8, m.y + 0.04],
      [0, m.y + m.lower + 0.03],
    ];
    svg.clipped(p.faceClip, () => svg.fill(surface(goatee, true, 0.01), hex(color), 0.85));
  }
  if (kind !== "stubble") svg.fill(surface(mustache, true, 0.03), hex(color), 0.9);
}
