// Colours for the synthetic faces: RGB triples, mixing, and the palettes identities draw from.

export type Rgb = readonly [number, number, number];

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Multiplies brightness (f < 1 darker, f > 1 lighter, clamped). */
export function shade(c: Rgb, f: number): Rgb {
  return [Math.min(255, c[0] * f), Math.min(255, c[1] * f), Math.min(255, c[2] * f)];
}

export function hex(c: Rgb): string {
  return (
    "#" +
    c
      .map((v) =>
        Math.round(Math.max(0, Math.min(255, v)))
          .toString(16)
          .padStart(2, "0"),
      )
      .join("")
  );
}

/** Picks along a palette by t in [0, 1], interpolating between neighbours. */
export function along(palette: readonly Rgb[], t: number): Rgb {
  const x = Math.max(0, Math.min(1, t)) * (palette.length - 1);
  const i = Math.min(palette.length - 2, Math.floor(x));
  return mix(palette[i]!, palette[i + 1]!, x - i);
}

// from very light to very dark skin
export const SKIN: readonly Rgb[] = [
  [255, 228, 210],
  [244, 208, 180],
  [232, 186, 150],
  [214, 160, 120],
  [184, 128, 90],
  [140, 92, 62],
  [96, 62, 42],
];

export const HAIR: readonly Rgb[] = [
  [20, 16, 14],
  [44, 30, 22],
  [78, 52, 34],
  [120, 80, 48],
  [160, 110, 60],
  [200, 160, 100],
  [226, 200, 150],
  [150, 70, 40], // auburn
  [170, 170, 170], // grey
  [225, 225, 220], // white
];

export const IRIS: readonly Rgb[] = [
  [40, 26, 18],
  [78, 50, 30],
  [110, 80, 40],
  [90, 100, 60],
  [70, 110, 90],
  [80, 110, 150],
  [110, 140, 170],
  [120, 120, 120],
];

export const CLOTHES: readonly Rgb[] = [
  [30, 30, 40],
  [200, 200, 205],
  [40, 60, 120],
  [120, 30, 40],
  [40, 90, 60],
  [150, 120, 80],
  [90, 90, 95],
  [220, 180, 60],
];
