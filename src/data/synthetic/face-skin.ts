// The skin's own marks, clipped to the face: blush, the jaw's shadow, the identity's moles and freckles, and
// the wrinkles of age.
import { deriveSeed, Rng } from "../rng.js";
import { hex, shade } from "./color.js";
import type { Painter } from "./face-painter.js";
import type { Point } from "./head.js";
import type { Identity } from "./identity.js";
import { ellipsePoints } from "./svg.js";

export function skinDetails(p: Painter, identity: Identity): void {
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
