// The report's charts as vega specs: training loss and the intrinsic dimension during training per stage, and the
// intrinsic dimension per model (the ROC charts are eval's rocChartSpec), rendered to SVG text for inlining.
import { renderChart, seriesLines, VEGA_SCHEMA, type ChartSpec } from "../analysis/chart.js";
import { gapNote, idBarChartSpec, type IdBar } from "../analysis/intrinsic-gap.js";
import { rocChartSpec } from "../eval/roc-plot.js";
import type { IdPoint, StageCurves } from "./metrics.js";
import type { ModelResult, RunResults } from "./results.js";

// legends under the plot keep the charts narrow enough for two side by side; labels are model names, so long
const BOTTOM_LEGEND = { orient: "bottom", direction: "horizontal", columns: 2, labelLimit: 260 } as const;
const ROLE_COLOURS = { teacher: "#4c78a8", student: "#f58518" };

export async function chartSvg(spec: ChartSpec): Promise<string> {
  return (await renderChart(spec, 1)).svg;
}

/** Total loss (and its terms, when there are several) against step; skipped steps as red rules. */
export function lossChartSpec(curves: StageCurves, title: string): ChartSpec {
  const values = curves.points;
  const min = Math.min(...values.map((p) => p.value));
  const max = Math.max(...values.map((p) => p.value));
  const series = [...new Set(values.map((p) => p.series))];
  return {
    $schema: VEGA_SCHEMA,
    width: 460,
    height: 240,
    padding: 8,
    title: { text: title },
    data: [
      { name: "points", values },
      { name: "skipped", values: curves.skipped },
    ],
    scales: [
      { name: "x", type: "linear", domain: { data: "points", field: "step" }, range: "width", nice: true, zero: false },
      {
        name: "y",
        // terms far smaller than the total would lie flat on a linear axis
        type: min > 0 && max / min > 100 ? "log" : "linear",
        domain: { data: "points", field: "value" },
        range: "height",
        nice: true,
        zero: false,
      },
      { name: "color", type: "ordinal", domain: series, range: "category" },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "step", grid: true },
      { orient: "left", scale: "y", title: "loss", grid: true },
    ],
    legends: series.length > 1 ? [{ stroke: "color", title: "term", symbolType: "stroke", ...BOTTOM_LEGEND }] : [],
    marks: [
      {
        type: "rule",
        from: { data: "skipped" },
        encode: {
          enter: {
            x: { scale: "x", field: "step" },
            y: { value: 0 },
            y2: { signal: "height" },
            stroke: { value: "#d62728" },
            strokeOpacity: { value: 0.6 },
            strokeDash: { value: [3, 3] },
          },
        },
      },
      seriesLines("points", "series", "step", "value", { signal: "datum.series === 'loss' ? 2.5 : 1.5" }),
    ],
  };
}

/**
 * The operating points that move the line by at least 1/`resolution` of the plot (log FAR or TAR): a 480-pixel
 * chart needs a few hundred of the ~2000 points, and vega takes long over many lines of the full ones.
 */
function thinRoc(roc: Roc, resolution = 500): Roc {
  const logs = roc.far.filter((f) => f > 0).map(Math.log10);
  const step = (Math.max(...logs) - Math.min(...logs)) / resolution;
  const far: number[] = [];
  const tar: number[] = [];
  roc.far.forEach((f, i) => {
    const t = roc.tar[i]!;
    const last = far.length - 1;
    const moved =
      last < 0 ||
      i === roc.far.length - 1 ||
      far[last]! === 0 ||
      Math.abs(Math.log10(f) - Math.log10(far[last]!)) >= step ||
      Math.abs(t - tar[last]!) >= 1 / resolution;
    if (moved) {
      far.push(f);
      tar.push(t);
    }
  });
  return { far, tar };
}

type Roc = { far: number[]; tar: number[] };

/** ROC curves of every model `rocOf` gives one for; null when none has an operating point with FAR > 0. */
function rocSpec(models: readonly ModelResult[], title: string, rocOf: (m: ModelResult) => Roc | undefined) {
  const curves = models.flatMap((m) => {
    const roc = rocOf(m);
    // rocChartSpec draws far and tar only; the report's curves carry no thresholds
    return roc && roc.far.some((f) => f > 0) ? [{ name: m.label, curve: { ...thinRoc(roc), threshold: [] } }] : [];
  });
  if (curves.length === 0) return null;
  const spec = rocChartSpec(curves, title);
  return { ...spec, legends: spec.legends?.map((l) => ({ ...l, ...BOTTOM_LEGEND })) };
}

/** ROC curves of every model evaluated on verification set `set`. */
export function rocSpecForSet(models: readonly ModelResult[], set: string): ChartSpec | null {
  return rocSpec(models, `ROC: ${set}`, (m) => m.verification[set]?.roc);
}

/** ROC curves of the template pairs of every model evaluated on the IJB release. */
export function rocSpecForIjb(models: readonly ModelResult[], target: string): ChartSpec | null {
  return rocSpec(models, `ROC: ${target} templates`, (m) => m.ijb?.roc);
}

/** One bar per model (mean ID, its 95% interval as the whisker), coloured by role; the gap reference outlined. */
export function intrinsicDimensionChartSpec(results: RunResults): ChartSpec | null {
  const gaps = new Map(results.intrinsicGap?.rows.map((r) => [r.id, r.gap]));
  const reference = results.intrinsicGap?.reference;
  const bars: IdBar[] = results.models.flatMap((m) => {
    if (m.intrinsicDimension === null) return [];
    const gap = gaps.get(m.id);
    const note = m.id === reference ? "reference" : gap === undefined ? "" : gapNote(gap);
    const { mean, std, interval } = m.intrinsicDimension;
    return [{ model: m.label, mean, std, interval, group: m.role, note, outlined: m.id === reference }];
  });
  return bars.length === 0 ? null : idBarChartSpec(bars, undefined, ROLE_COLOURS);
}

/** The ID of a stage's fixed sample against step: the estimate as a line over its 95% interval as a band. */
export function idTrainingChartSpec(points: readonly IdPoint[], title: string): ChartSpec {
  const x = { scale: "x", field: "step" };
  return {
    $schema: VEGA_SCHEMA,
    width: 460,
    height: 240,
    padding: 8,
    title: { text: title },
    data: [{ name: "id", values: [...points] }],
    scales: [
      { name: "x", type: "linear", domain: { data: "id", fields: ["step"] }, range: "width", nice: true, zero: false },
      { name: "y", type: "linear", domain: { data: "id", fields: ["low", "high"] }, range: "height", nice: true },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "step", grid: true },
      { orient: "left", scale: "y", title: "intrinsic dimension (TwoNN)", grid: true },
    ],
    marks: [
      {
        type: "area",
        from: { data: "id" },
        encode: {
          enter: {
            x,
            y: { scale: "y", field: "low" },
            y2: { scale: "y", field: "high" },
            fill: { value: ROLE_COLOURS.teacher },
            fillOpacity: { value: 0.2 },
          },
        },
      },
      {
        type: "line",
        from: { data: "id" },
        encode: {
          enter: {
            x,
            y: { scale: "y", field: "mean" },
            stroke: { value: ROLE_COLOURS.teacher },
            strokeWidth: { value: 2 },
          },
        },
      },
      {
        type: "symbol",
        from: { data: "id" },
        encode: {
          enter: { x, y: { scale: "y", field: "mean" }, fill: { value: ROLE_COLOURS.teacher }, size: { value: 25 } },
        },
      },
    ],
  };
}
