// The facial features: eyes (with iris and pupil), brows, nose and mouth, each built in face units and projected
// on the head's surface.
import { hex, shade } from "./color.js";
import { range, type Painter } from "./face-painter.js";
import type { Point } from "./head.js";
import { ellipsePoints, smoothPath } from "./svg.js";

export function eye(p: Painter, side: number): void {
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

export function brow(p: Painter, side: number): void {
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

export function nose(p: Painter): void {
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

export function mouth(p: Painter): void {
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
