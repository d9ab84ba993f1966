// The intrinsic gap: several models' embeddings of the same samples, each through the intrinsic-dimension
// protocol with the same seed (so the same rows are sampled and the same subsets drawn), side by side, with each
// model's difference from a reference (the teacher, by default the first model).
import type { Tensor } from "../torch/index.js";
import { writeChart, type ChartFiles, type ChartSpec } from "./chart.js";
import {
  intrinsicDimension,
  type IntrinsicDimensionOptions,
  type IntrinsicDimensionResult,
} from "./intrinsic-dimension.js";
import { formatTable } from "./text-table.js";

export interface IntrinsicGapRow {
  name: string;
  result: IntrinsicDimensionResult;
  /** This model's mean ID minus the reference's. */
  gap: number;
}

export interface IntrinsicGapReport {
  reference: string;
  rows: IntrinsicGapRow[];
}

export function intrinsicGap(
  models: readonly { name: string; embeddings: Tensor }[],
  options: IntrinsicDimensionOptions & { reference?: string } = {},
): IntrinsicGapReport {
  const counts = new Set(models.map((m) => m.embeddings.shape[0]));
  if (models.length === 0 || counts.size !== 1)
    throw new Error(
      `intrinsicGap: needs the embeddings of the same samples from each model, got row counts ` +
        `${models.map((m) => `${m.name}: ${m.embeddings.shape[0]}`).join(", ") || "(no models)"}`,
    );
  const reference = options.reference ?? models[0]!.name;
  const results = models.map((m) => ({ name: m.name, result: intrinsicDimension(m.embeddings, options) }));
  const base = results.find((r) => r.name === reference);
  if (base === undefined) throw new Error(`intrinsicGap: the reference '${reference}' is not among the models`);
  return { reference, rows: results.map((r) => ({ ...r, gap: r.result.mean - base.result.mean })) };
}

export function formatIntrinsicGapTable(report: IntrinsicGapReport): string {
  return formatTable(
    ["model", "ID (mean ± std)", `gap to ${report.reference}`, "estimator", "sample", "subsets"],
    report.rows.map(({ name, result: r, gap }) => [
      name,
      `${r.mean.toFixed(2)} ± ${r.std.toFixed(2)}`,
      gap === 0 && name === report.reference ? "-" : gap.toFixed(2),
      r.variant,
      String(r.sampleSize),
      `${r.estimates.length} x ${r.subsetSize}`,
    ]),
  );
}

/** Bars of each model's mean ID with a +-1 std whisker. */
export function intrinsicGapChartSpec(report: IntrinsicGapReport, title = "Intrinsic dimension (TwoNN)"): ChartSpec {
  const values = report.rows.map(({ name, result }) => ({
    model: name,
    mean: result.mean,
    low: result.mean - result.std,
    high: result.mean + result.std,
  }));
  const x = { scale: "x", field: "model" };
  return {
    $schema: "https://vega.github.io/schema/vega/v6.json",
    width: Math.max(200, 90 * values.length),
    height: 280,
    padding: 8,
    title: { text: title },
    data: [{ name: "id", values }],
    scales: [
      { name: "x", type: "band", domain: { data: "id", field: "model" }, range: "width", padding: 0.3 },
      { name: "y", type: "linear", domain: { data: "id", field: "high" }, range: "height", nice: true, zero: true },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: "model" },
      { orient: "left", scale: "y", title: "intrinsic dimension", grid: true },
    ],
    marks: [
      {
        type: "rect",
        from: { data: "id" },
        encode: {
          enter: {
            x,
            width: { scale: "x", band: 1 },
            y: { scale: "y", field: "mean" },
            y2: { scale: "y", value: 0 },
            fill: { value: "#4c78a8" },
          },
        },
      },
      {
        type: "rule",
        from: { data: "id" },
        encode: {
          enter: {
            x: { ...x, band: 0.5 },
            y: { scale: "y", field: "low" },
            y2: { scale: "y", field: "high" },
            stroke: { value: "#222" },
            strokeWidth: { value: 2 },
          },
        },
      },
      {
        type: "text",
        from: { data: "id" },
        encode: {
          enter: {
            x: { ...x, band: 0.5 },
            y: { scale: "y", field: "high", offset: -6 },
            text: { signal: "format(datum.mean, '.2f')" },
            align: { value: "center" },
            fill: { value: "#222" },
          },
        },
      },
    ],
  };
}

/** Writes `<basePath>.svg` and `<basePath>.png`. */
export function writeIntrinsicGapChart(
  basePath: string,
  report: IntrinsicGapReport,
  title?: string,
): Promise<ChartFiles> {
  return writeChart(basePath, intrinsicGapChartSpec(report, title));
}
