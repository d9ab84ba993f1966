// Draws one synthetic face as SVG: every shape is built in face units, each vertex projected through the 2.5D
// head (so pose foreshortens and shifts features by their depth), then painted back to front.
import { deriveSeed, Rng } from "../rng.js";
import { hex, mix, shade, type Rgb } from "./color.js";
import { layoutFace, type FaceLayout } from "./face-layout.js";
import { Head, type Point } from "./head.js";
import type { Identity, Traits } from "./identity.js";
import type { Nuisance, Occlusion } from "./nuisance.js";
import { ellipsePoints, smoothPath, Svg } from "./svg.js";

interface Painter {
  svg: Svg;
  head: Head;
  f: FaceLayout;
  /** Projects face points on the surface (plus lift) into a smooth path. */
  surface(points: readonly Point[], closed: boolean, lift?: number): string;
  /** Clip path of the face skin. */
  faceClip: string;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

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

function backHair(p: Painter): void {
  const { f, head, svg } = p;
  const bottom = { bald: null, buzz: null, short: f.eye.y + 0.1, medium: 0.55, long: 1.4 }[f.hair.style];
  if (bottom === null) return;
  const mass = hairMass(f, f.cheekY, bottom).map(([x, y]) => head.silhouette(x, y));
  svg.fill(smoothPath(mass, true), svg.radialFill(f.hair.color, shade(f.hair.color, 0.7), 0.5, 0.3, 0.8));
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

function skinDetails(p: Painter, identity: Identity): void {
  p.svg.clipped(p.faceClip, () => {
    skinMarks(p, identity);
    if (p.f.age > 0.65) wrinkles(p);
  });
}

function skinMarks(p: Painter, identity: Identity): void {
  const { f, svg, surface } = p;
  // cheek colour, a shadow under the cheekbones, the chin's darker underside
  for (const side of [-1, 1]) {
    const cheek = ellipsePoints(side * (f.eye.x + 0.03), f.nose.tipY, 0.14, 0.09, 0, 10);
    svg.fill(surface(cheek, true), svg.softFill([220, 90, 90], f.blush));
  }
  const jawShadow = ellipsePoints(0, f.chinY + 0.05, f.halfWidth * 0.9, 0.25, 0, 14);
  svg.fill(surface(jawShadow, true), svg.softFill(shade(f.skin, 0.55), 0.35, 0.2));
  for (const mole of identity.moles) {
    svg.fill(surface(ellipsePoints(mole.x, mole.y, mole.r, mole.r, 0, 8), true), hex(shade(f.skin, 0.45)), 0.85);
  }
  if (f.freckles > 0) {
    const rng = new Rng(deriveSeed(identity.freckleSeed));
    for (let i = 0; i < 10 + 30 * f.freckles; i++) {
      const x = rng.normal() * 0.22;
      const y = f.nose.tipY - 0.08 + rng.normal() * 0.1;
      const r = rng.uniform(0.008, 0.016);
      svg.fill(surface(ellipsePoints(x, y, r, r, 0, 6), true), hex(shade(f.skin, 0.72)), 0.7);
    }
  }
}

// smile folds and forehead lines, deeper with age
function wrinkles(p: Painter): void {
  const { f, svg, surface } = p;
  const depth = (f.age - 0.65) * 2.5;
  for (const side of [-1, 1]) {
    const fold: Point[] = [
      [side * (f.nose.halfWidth + 0.04), f.nose.tipY - 0.02],
      [side * (f.mouth.halfWidth + 0.02), f.mouth.y - 0.02],
      [side * (f.mouth.halfWidth + 0.04), f.mouth.y + 0.1],
    ];
    svg.stroke(surface(fold, false), shade(f.skin, 0.62), 0.018, 0.5 * depth);
  }
  for (const k of [0, 1, 2]) {
    const y = f.brow.y - 0.1 - 0.07 * k;
    const line: Point[] = [
      [-0.25, y + 0.01],
      [0, y - 0.01],
      [0.25, y + 0.01],
    ];
    svg.stroke(surface(line, false), shade(f.skin, 0.7), 0.012, 0.4 * depth);
  }
}

function eye(p: Painter, side: number): void {
  const { f, svg, surface, head } = p;
  const e = f.eye;
  const cx = side * e.x;
  const tilt = side * -e.tilt;
  const c = Math.cos(tilt);
  const s = Math.sin(tilt);
  const local = (x: number, y: number): Point => [cx + x * c - y * s, e.y + x * s + y * c];
  // almond: upper and lower lid curves from the inner to the outer corner
  const ts = range(9).map((i) => -1 + i / 4);
  const upperLid = ts.map((t) => local(t * e.halfWidth, -e.halfHeight * (1 - t * t) ** 0.8 * (1 + 0.15 * t * side)));
  const lowerLid = ts.map((t) => local(t * e.halfWidth, e.halfHeight * 0.75 * (1 - t * t) ** 0.9)).reverse();
  const socket = ellipsePoints(cx, e.y - 0.01, e.halfWidth * 1.5, e.halfHeight + 0.06, tilt, 12);
  svg.fill(surface(socket, true), svg.softFill(shade(f.skin, 0.6), 0.45));
  const almond = surface([...upperLid, ...lowerLid.slice(1, -1)], true);
  svg.fill(almond, hex([232, 226, 220]));
  if (e.halfHeight > 0.012) svg.clipped(svg.clip(almond), () => irisAndPupil(p, cx + e.gaze * e.halfWidth * 0.5));
  svg.stroke(surface(upperLid, false), shade(f.brow.color, 0.5), e.lid * head.scale);
  svg.stroke(surface(lowerLid, false), shade(f.skin, 0.6), 0.008 * head.scale, 0.6);
  const crease = upperLid.slice(1, -1).map(([x, y]) => [x, y - 0.03 - e.halfHeight * 0.3] as Point);
  svg.stroke(surface(crease, false), shade(f.skin, 0.62), 0.01 * head.scale, 0.55);
}

function irisAndPupil(p: Painter, x: number): void {
  const { f, svg, surface } = p;
  const r = f.iris.radius;
  const y = f.eye.y;
  svg.fill(
    surface(ellipsePoints(x, y, r, r, 0, 12), true),
    svg.radialFill(shade(f.iris.color, 1.25), shade(f.iris.color, 0.6), 0.5, 0.5, 0.6),
  );
  svg.fill(surface(ellipsePoints(x, y, r * 0.42, r * 0.42, 0, 8), true), "#0c0a0a");
  svg.fill(surface(ellipsePoints(x + 0.4 * r, y - 0.4 * r, r * 0.2, r * 0.2, 0, 6), true), "#ffffff", 0.85);
}

function brow(p: Painter, side: number): void {
  const { f, svg, surface } = p;
  const b = f.brow;
  const inner = side * (f.eye.x - b.length * 0.55);
  const outer = side * (f.eye.x + b.length * 0.6);
  const ts = range(7).map((i) => i / 6);
  const spine = ts.map((t) => {
    const x = inner + (outer - inner) * t;
    return [x, b.y - b.arch * Math.sin(Math.PI * Math.min(1, t * 1.3)) + b.tilt * (t - 0.5) * 0.2] as Point;
  });
  // a tapered stroke: the upper edge forward, the lower edge back, thinner toward the outer end
  const upper = spine.map(([x, y], i) => [x, y - (b.thickness / 2) * (1 - 0.6 * ts[i]!)] as Point);
  const lower = spine.map(([x, y], i) => [x, y + (b.thickness / 2) * (1 - 0.6 * ts[i]!)] as Point).reverse();
  svg.fill(surface([...upper, ...lower], true, 0.01), hex(b.color), 0.92);
}

function nose(p: Painter): void {
  const { f, svg, surface } = p;
  const n = f.nose;
  const lift = (y: number): number => 0.22 * Math.max(0, (y - n.top) / (n.tipY - n.top)) ** 1.5;
  const nosePath = (points: Point[], closed: boolean): string =>
    smoothPath(
      points.map(([x, y]) => p.head.project(x, y, lift(y))),
      closed,
    );
  for (const side of [-1, 1]) {
    const ridge: Point[] = range(5).map((i) => {
      const y = n.top + ((n.tipY - 0.04 - n.top) * i) / 4;
      return [side * (n.bridge + (n.halfWidth * 0.6 - n.bridge) * (i / 4) ** 2), y];
    });
    svg.stroke(nosePath(ridge, false), shade(f.skin, 0.7), 0.018, 0.45);
    const wing: Point[] = [
      [side * n.halfWidth * 0.55, n.tipY - 0.06],
      [side * n.halfWidth, n.tipY - 0.01],
      [side * n.halfWidth * 0.8, n.tipY + 0.03],
      [side * n.halfWidth * 0.35, n.tipY + 0.035],
    ];
    svg.stroke(nosePath(wing, false), shade(f.skin, 0.6), 0.016, 0.75);
    svg.fill(
      nosePath(ellipsePoints(side * n.halfWidth * 0.45, n.tipY + 0.02, n.halfWidth * 0.28, 0.014, side * 0.3, 8), true),
      hex(shade(f.skin, 0.35)),
      0.8,
    );
  }
  svg.fill(
    nosePath(ellipsePoints(0, n.tipY - 0.01, n.tip, n.tip * 0.8, 0, 10), true),
    svg.softFill([255, 255, 255], 0.22),
  );
  const under = ellipsePoints(0, n.tipY + 0.06, n.halfWidth * 1.1, 0.03, 0, 10);
  svg.fill(surface(under, true), svg.softFill(shade(f.skin, 0.5), 0.4));
}

function mouth(p: Painter): void {
  const { f, svg, surface } = p;
  const m = f.mouth;
  const lift = 0.03;
  const ts = range(11).map((i) => -1 + i / 5);
  const corner = -0.035 * m.smile + 0.01;
  const gap = m.open * 0.09;
  // the line where the lips meet, corners raised by a smile
  const seam = (t: number): number => m.y + corner * t * t - 0.008 * (1 - t * t);
  const upperTop = ts.map((t) => {
    const bow = 0.012 * Math.exp(-((t * 6) ** 2)); // the dip of the cupid's bow
    return [t * m.halfWidth, seam(t) - m.upper * (1 - t * t) ** 0.7 + bow] as Point;
  });
  const upperBottom = ts.map((t) => [t * m.halfWidth, seam(t) - gap * 0.3 * (1 - t * t)] as Point).reverse();
  const lowerTop = ts.map((t) => [t * m.halfWidth * 0.98, seam(t) + gap * (1 - t * t)] as Point);
  const lowerBottom = ts
    .map((t) => [t * m.halfWidth * 0.92, seam(t) + gap * (1 - t * t) + m.lower * (1 - t * t) ** 0.6] as Point)
    .reverse();
  if (m.open > 0) {
    svg.fill(surface([...upperBottom.slice().reverse(), ...lowerTop.slice().reverse()], true, lift), "#2a0f12");
    const teeth = ts.map((t) => [t * m.halfWidth * 0.7, seam(t) - gap * 0.3 * (1 - t * t) + gap * 0.45] as Point);
    svg.fill(surface([...upperBottom.slice().reverse(), ...teeth.slice().reverse()], true, lift), "#e8e2d8", 0.95);
  }
  svg.fill(surface([...upperTop, ...upperBottom], true, lift), hex(shade(m.color, 0.9)));
  svg.fill(surface([...lowerTop, ...lowerBottom], true, lift), hex(m.color));
  svg.stroke(surface(lowerTop, false, lift), shade(m.color, 0.45), 0.012, 0.8);
  const shine = ellipsePoints(0, seam(0) + gap + m.lower * 0.45, m.halfWidth * 0.35, m.lower * 0.25, 0, 8);
  svg.fill(surface(shine, true, lift), svg.softFill([255, 255, 255], 0.3));
}

function facialHair(p: Painter): void {
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

function frontHair(p: Painter): void {
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

function glasses(p: Painter): void {
  const { f, svg, head } = p;
  const g = f.glasses!;
  const lift = 0.12;
  const lens = (side: number): Point[] => {
    const cx = side * f.eye.x;
    const w = f.eye.halfWidth * 1.55;
    const h = 0.11;
    return g.shape === "round"
      ? ellipsePoints(cx, f.eye.y + 0.01, w, h * 1.05, 0, 16)
      : range(16).map((i) => {
          const t = (2 * Math.PI * i) / 16;
          const sx = Math.sign(Math.cos(t)) * Math.abs(Math.cos(t)) ** 0.45;
          const sy = Math.sign(Math.sin(t)) * Math.abs(Math.sin(t)) ** 0.45;
          return [cx + w * sx, f.eye.y + 0.01 + h * sy] as Point;
        });
  };
  for (const side of [-1, 1]) {
    const d = smoothPath(
      lens(side).map(([x, y]) => head.project(x, y, lift)),
      true,
    );
    svg.fill(d, hex(shade(g.frame, 0.5)), g.tint);
    svg.stroke(d, g.frame, g.thickness * head.scale);
    const temple: Point[] = [
      [side * (f.eye.x + f.eye.halfWidth * 1.55), f.eye.y - 0.02],
      [side * f.halfWidth, f.eye.y + 0.02],
    ];
    svg.stroke(
      smoothPath(
        temple.map(([x, y]) => head.project(x, y, lift * 0.3)),
        false,
      ),
      g.frame,
      g.thickness * head.scale,
    );
  }
  const bridge: Point[] = [
    [-f.eye.x + f.eye.halfWidth * 1.5, f.eye.y - 0.02],
    [0, f.eye.y - 0.04],
    [f.eye.x - f.eye.halfWidth * 1.5, f.eye.y - 0.02],
  ];
  svg.stroke(
    smoothPath(
      bridge.map(([x, y]) => head.project(x, y, lift)),
      false,
    ),
    g.frame,
    g.thickness * head.scale,
  );
}

function occlusion(p: Painter, o: Occlusion): void {
  const { f, svg, surface, head } = p;
  switch (o.kind) {
    case "hand": {
      const skin = mix(f.skin, o.color, 0.15);
      const palm = ellipsePoints(o.x, o.y + 0.3, o.size * 0.7, o.size * 0.9, o.angle, 14);
      svg.fill(
        smoothPath(
          palm.map(([x, y]) => head.body(x, y)),
          true,
        ),
        hex(shade(skin, 0.95)),
      );
      for (let k = 0; k < 4; k++) {
        const fx = o.x + (k - 1.5) * o.size * 0.3;
        const finger = ellipsePoints(fx, o.y - o.size * 0.35, o.size * 0.13, o.size * 0.5, o.angle, 10);
        svg.fill(
          smoothPath(
            finger.map(([x, y]) => head.body(x, y)),
            true,
          ),
          hex(shade(skin, 1 - 0.04 * k)),
        );
      }
      return;
    }
    case "mask": {
      const top = f.nose.top + 0.12;
      const shape: Point[] = [
        [-f.halfWidth * 0.98, top + 0.05],
        [0, top - 0.03],
        [f.halfWidth * 0.98, top + 0.05],
        [f.halfWidth * 0.8, f.chinY - 0.1],
        [0, f.chinY + 0.03],
        [-f.halfWidth * 0.8, f.chinY - 0.1],
      ];
      svg.fill(surface(shape, true, 0.06), svg.radialFill(o.color, shade(o.color, 0.75), 0.5, 0.4, 0.8));
      return;
    }
    case "sunglasses": {
      for (const side of [-1, 1]) {
        const lens = ellipsePoints(side * f.eye.x, f.eye.y + 0.01, f.eye.halfWidth * 1.6, 0.1, side * 0.1, 14);
        svg.fill(surface(lens, true, 0.12), hex(shade(o.color, 0.15)), 0.95);
      }
      return;
    }
    case "cap": {
      const brim = f.brow.y - 0.05 - o.size * 0.2;
      const cap: Point[] = [
        [-f.halfWidth * 1.2, brim],
        [-f.halfWidth * 1.1, f.topY - 0.1],
        [f.halfWidth * 1.1, f.topY - 0.1],
        [f.halfWidth * 1.2, brim],
      ];
      svg.fill(
        smoothPath(
          cap.map(([x, y]) => head.silhouette(x, y)),
          true,
        ),
        hex(o.color),
      );
      const visor = ellipsePoints(0, brim + 0.02, f.halfWidth * 1.1, 0.07, 0, 14);
      svg.fill(surface(visor, true, 0.25), hex(shade(o.color, 0.7)));
      return;
    }
    case "object": {
      const bar = ellipsePoints(o.x, o.y, o.size * 0.25, o.size, o.angle, 4).map(([x, y]) => head.body(x, y));
      svg.fill(smoothPath(bar, true), svg.radialFill(o.color, shade(o.color, 0.5), 0.4, 0.4, 0.8));
      return;
    }
  }
}
