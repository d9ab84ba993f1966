// A tiny SVG builder for the face renderer: smooth paths through projected points, soft blobs (radial
// gradients fading to transparent), clip paths.
import { hex, type Rgb } from "./color.js";
import type { Point } from "./head.js";

export function num(v: number): string {
  return (Math.round(v * 1000) / 1000).toString();
}

// Coordinates and lengths are written as integers in a 2000-unit view box (the image spans -1..1 face units):
// a thousandth of a face unit is far below a pixel, and short integers keep the SVG quick to parse.
const UNITS = 1000;

function coord(v: number): string {
  return String(Math.round(v * UNITS));
}

/** A smooth path through the points (Catmull-Rom turned into cubic Beziers). */
export function smoothPath(points: readonly Point[], closed: boolean): string {
  const n = points.length;
  if (n < 2) return "";
  const at = (i: number): Point => (closed ? points[(i + n) % n]! : points[Math.max(0, Math.min(n - 1, i))]!);
  let d = `M${coord(points[0]![0])} ${coord(points[0]![1])}`;
  const segments = closed ? n : n - 1;
  for (let i = 0; i < segments; i++) {
    const [p0, p1, p2, p3] = [at(i - 1), at(i), at(i + 1), at(i + 2)];
    const c1: Point = [p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6];
    const c2: Point = [p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6];
    d += `C${coord(c1[0])} ${coord(c1[1])} ${coord(c2[0])} ${coord(c2[1])} ${coord(p2[0])} ${coord(p2[1])}`;
  }
  return closed ? d + "Z" : d;
}

/** Points of an ellipse (centre, radii, rotation) in face units. */
export function ellipsePoints(cx: number, cy: number, rx: number, ry: number, angle = 0, n = 16): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return Array.from({ length: n }, (_, i) => {
    const t = (2 * Math.PI * i) / n;
    const x = rx * Math.cos(t);
    const y = ry * Math.sin(t);
    return [cx + x * c - y * s, cy + x * s + y * c] as Point;
  });
}

export class Svg {
  readonly #defs: string[] = [];
  readonly #body: string[] = [];
  #ids = 0;

  /** A radial gradient that fades `color` from `opacity` at the centre to transparent. */
  softFill(color: Rgb, opacity: number, inner = 0): string {
    const id = `g${this.#ids++}`;
    this.#defs.push(
      `<radialGradient id="${id}"><stop offset="${inner}" stop-color="${hex(color)}" stop-opacity="${num(opacity)}"/>` +
        `<stop offset="1" stop-color="${hex(color)}" stop-opacity="0"/></radialGradient>`,
    );
    return `url(#${id})`;
  }

  /** A radial gradient from `center` to `edge` colour (for shaded skin). */
  radialFill(center: Rgb, edge: Rgb, cx = 0.5, cy = 0.45, r = 0.65): string {
    const id = `g${this.#ids++}`;
    this.#defs.push(
      `<radialGradient id="${id}" cx="${num(cx)}" cy="${num(cy)}" r="${num(r)}">` +
        `<stop offset="0.35" stop-color="${hex(center)}"/><stop offset="1" stop-color="${hex(edge)}"/></radialGradient>`,
    );
    return `url(#${id})`;
  }

  linearFill(from: Rgb, to: Rgb, angle: number): string {
    const id = `g${this.#ids++}`;
    this.#defs.push(
      `<linearGradient id="${id}" gradientTransform="rotate(${num(angle)} 0.5 0.5)">` +
        `<stop offset="0" stop-color="${hex(from)}"/><stop offset="1" stop-color="${hex(to)}"/></linearGradient>`,
    );
    return `url(#${id})`;
  }

  /** A clip path from a path's data; returns the value for clip-path="...". */
  clip(d: string): string {
    const id = `c${this.#ids++}`;
    this.#defs.push(`<clipPath id="${id}"><path d="${d}"/></clipPath>`);
    return `url(#${id})`;
  }

  /** Draws what `draw` adds clipped by `clip` (one clip for the group is much cheaper than one per shape). */
  /** Paints the whole image. */
  fillAll(fill: string): void {
    this.#body.push(`<rect x="${-UNITS}" y="${-UNITS}" width="${2 * UNITS}" height="${2 * UNITS}" fill="${fill}"/>`);
  }

  clipped(clip: string, draw: () => void): void {
    this.#body.push(`<g clip-path="${clip}">`);
    draw();
    this.#body.push("</g>");
  }

  fill(d: string, fill: string, opacity = 1): void {
    if (d === "") return;
    const extra = opacity < 1 ? ` fill-opacity="${num(opacity)}"` : "";
    this.#body.push(`<path d="${d}" fill="${fill}"${extra}/>`);
  }

  stroke(d: string, color: Rgb, width: number, opacity = 1): void {
    if (d === "") return;
    const extra = opacity < 1 ? ` stroke-opacity="${num(opacity)}"` : "";
    this.#body.push(
      `<path d="${d}" fill="none" stroke="${hex(color)}" stroke-width="${coord(width)}" stroke-linecap="round" ` +
        `stroke-linejoin="round"${extra}/>`,
    );
  }

  toString(size: number): string {
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" ` +
      `viewBox="${-UNITS} ${-UNITS} ${2 * UNITS} ${2 * UNITS}">` +
      `<defs>${this.#defs.join("")}</defs>${this.#body.join("")}</svg>`
    );
  }
}
