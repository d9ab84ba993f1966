// Charts for reports: a vega specification rendered headless in Node to SVG (vega's own SVG renderer, no canvas
// or browser), and that SVG rasterized to PNG by sharp (librsvg, with the system's fonts). Both libraries load on
// first use, so the metrics never pay for them.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Spec } from "vega";

export type ChartSpec = Spec;

export const VEGA_SCHEMA = "https://vega.github.io/schema/vega/v6.json";

/**
 * One line per value of `series` in the data set `data`, drawn from fields `x` and `y` on scales "x" and "y",
 * coloured by scale "color"; `strokeWidth` is a vega value or signal encoding.
 */
export function seriesLines(
  data: string,
  series: string,
  x: string,
  y: string,
  strokeWidth: { value: number } | { signal: string },
): NonNullable<Spec["marks"]>[number] {
  return {
    type: "group",
    from: { facet: { name: "series", data, groupby: series } },
    marks: [
      {
        type: "line",
        from: { data: "series" },
        encode: {
          enter: {
            x: { scale: "x", field: x },
            y: { scale: "y", field: y },
            stroke: { scale: "color", field: series },
            strokeWidth,
          },
        },
      },
    ],
  };
}

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
