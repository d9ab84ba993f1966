// What a face wears or hides behind: glasses (part of the identity) and the occlusions of a photo (hand, mask,
// sunglasses, cap, an object).
import { hex, mix, shade } from "./color.js";
import { range, type Painter } from "./face-painter.js";
import type { Point } from "./head.js";
import type { Occlusion } from "./nuisance.js";
import { ellipsePoints, smoothPath } from "./svg.js";

export function glasses(p: Painter): void {
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

export function occlusion(p: Painter, o: Occlusion): void {
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
