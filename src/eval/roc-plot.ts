// The ROC plot of one or more models: TAR against FAR on a log axis (operating points with FAR 0 cannot be
// drawn there and are left out), as a vega specification and as SVG and PNG files.
import { seriesLines, VEGA_SCHEMA, writeChart, type ChartFiles, type ChartSpec } from "../analysis/chart.js";
import type { RocCurve } from "./roc.js";

export interface NamedCurve {
  name: string;
  curve: RocCurve;
}

export function rocChartSpec(curves: readonly NamedCurve[], title = "ROC"): ChartSpec {
  const values = curves.flatMap(({ name, curve }) =>
    curve.far.flatMap((far, i) => (far > 0 ? [{ model: name, far, tar: curve.tar[i]! }] : [])),
  );
  if (values.length === 0) throw new Error("rocChartSpec: no operating point with FAR > 0 to draw");
  return {
    $schema: VEGA_SCHEMA,
    width: 480,
    height: 320,
    padding: 8,
    title: { text: title },
    data: [{ name: "roc", values }],
    scales: [
      { name: "x", type: "log", domain: { data: "roc", field: "far" }, range: "width", nice: true },
      { name: "y", type: "linear", domain: { data: "roc", field: "tar" }, range: "height", nice: true, zero: false },
      { name: "color", type: "ordinal", domain: { data: "roc", field: "model" }, range: "category" },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "FAR (false accept rate)", format: "~e", grid: true },
      { orient: "left", scale: "y", title: "TAR (true accept rate)", grid: true },
    ],
    legends: curves.length > 1 ? [{ stroke: "color", title: "model", symbolType: "stroke" }] : [],
    marks: [seriesLines("roc", "model", "far", "tar", { value: 2 })],
  };
}

/** Writes `<basePath>.svg` and `<basePath>.png`. */
export function writeRocPlot(basePath: string, curves: readonly NamedCurve[], title?: string): Promise<ChartFiles> {
  return writeChart(basePath, rocChartSpec(curves, title));
}
