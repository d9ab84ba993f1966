// Charts for reports: a vega specification rendered headless in Node to SVG (vega's own SVG renderer, no canvas
// or browser), and that SVG rasterized to PNG by sharp (librsvg, with the system's fonts). Both libraries load on
// first use, so the metrics never pay for them.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Spec } from "vega";

export type ChartSpec = Spec;

export interface ChartFiles {
  svg: string;
  png: string;
}

/** The chart as SVG text and PNG bytes (`scale` pixels per SVG unit). */
export async function renderChart(spec: ChartSpec, scale = 2): Promise<{ svg: string; png: Buffer }> {
  const vega = await import("vega");
  const { default: sharp } = await import("sharp");
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  try {
    const svg = await view.toSVG();
    const png = await sharp(Buffer.from(svg), { density: 72 * scale })
      .png()
      .toBuffer();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** Writes `<basePath>.svg` and `<basePath>.png` (creating the folder) and returns their paths. */
export async function writeChart(basePath: string, spec: ChartSpec, scale = 2): Promise<ChartFiles> {
  const { svg, png } = await renderChart(spec, scale);
  mkdirSync(path.dirname(basePath), { recursive: true });
  const files = { svg: `${basePath}.svg`, png: `${basePath}.png` };
  writeFileSync(files.svg, svg);
  writeFileSync(files.png, png);
  return files;
}
