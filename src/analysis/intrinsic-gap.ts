// The intrinsic gap: several models' embeddings of the same samples, each through the intrinsic-dimension
// protocol with the same seed (so the same rows are sampled and the same subsets drawn), side by side, with each
// model's difference from a reference (the teacher, by default the first model) and its paired 95% interval.
import type { Tensor } from "../torch/index.js";
import { pairedGap, type IdInterval, type PairableId } from "./id-interval.js";
import { VEGA_SCHEMA, writeChart, type ChartFiles, type ChartSpec } from "./chart.js";
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
  /** The gap's paired 95% interval (see pairedGap); null for the reference itself. */
  gapInterval: IdInterval | null;
}

export interface IntrinsicGapReport {
  reference: string;
  rows: IntrinsicGapRow[];
}

type GapRow = { name: string; mean: number; sampleSize?: number; halfSampleEstimates?: readonly number[] };

const pairable = (r: GapRow): PairableId | null =>
  r.sampleSize === undefined || r.halfSampleEstimates === undefined
    ? null
    : { mean: r.mean, sampleSize: r.sampleSize, halfSampleEstimates: r.halfSampleEstimates };

/**
 * Each row with its gap: its mean ID minus that of the row named `reference` (an error when there is none), and
 * the gap's paired interval where both rows have half-sample estimates (results of older runs have none).
 */
export function withGaps<R extends GapRow>(
  rows: readonly R[],
  reference: string,
): (R & { gap: number; gapInterval: IdInterval | null })[] {
  const base = rows.find((r) => r.name === reference);
  if (base === undefined) throw new Error(`intrinsicGap: the reference '${reference}' is not among the models`);
  return rows.map((r) => {
    const [a, b] = [pairable(r), pairable(base)];
    const gapInterval = r !== base && a && b ? pairedGap(a, b, [r.name, reference]).interval : null;
    return { ...r, gap: r.mean - base.mean, gapInterval };
  });
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
  const results = models.map((m) => {
    const result = intrinsicDimension(m.embeddings, options);
    return { name: m.name, result, ...result };
  });
  return {
    reference,
    rows: withGaps(results, reference).map(({ name, result, gap, gapInterval }) => ({
      name,
      result,
      gap,
      gapInterval,
    })),
  };
}

/** `7.85 [7.41, 8.29]` */
export const withInterval = (value: number, interval: { low: number; high: number } | null | undefined): string =>
  `${value.toFixed(2)}${interval ? ` [${interval.low.toFixed(2)}, ${interval.high.toFixed(2)}]` : ""}`;

export function formatIntrinsicGapTable(report: IntrinsicGapReport): string {
  return formatTable(
    ["model", "ID [95%]", "± std (subsets)", `gap to ${report.reference} [95%]`, "estimator", "sample", "subsets"],
    report.rows.map(({ name, result: r, gap, gapInterval }) => [
      name + (r.smallSample ? " (small sample)" : ""),
      withInterval(r.mean, r.interval),
      r.std.toFixed(2),
      name === report.reference ? "-" : withInterval(gap, gapInterval),
      r.variant,
      String(r.sampleSize),
      `${r.estimates.length} x ${r.subsetSize}`,
    ]),
  );
}

/** One bar of an intrinsic-dimension chart. */
export interface IdBar {
  model: string;
  mean: number;
  std: number;
  /** The 95% interval, drawn as the whisker instead of +-1 std when given. */
  interval?: { low: number; high: number } | null;
  /** Bars of one group share a colour (such as the model's role). */
  group?: string;
  /** Text inside the bar's foot (such as its gap to the reference). */
  note?: string;
  /** Drawn with a heavy outline (the reference of the gaps). */
  outlined?: boolean;
}

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2"];

/** `gap +1.23` */
export const gapNote = (gap: number): string => `gap ${gap >= 0 ? "+" : ""}${gap.toFixed(2)}`;

/** Bars of each model's mean ID with its 95% interval (else +-1 std) as the whisker, the mean above and the note
 *  inside each bar. */
export function idBarChartSpec(
  bars: readonly IdBar[],
  title = "Intrinsic dimension (TwoNN), mean and 95% interval",
  colours: Readonly<Record<string, string>> = {},
): ChartSpec {
  const values = bars.map(({ model, mean, std, interval, group = "", note = "", outlined = false }) => ({
    model,
    mean,
    low: interval?.low ?? mean - std,
    high: interval?.high ?? mean + std,
    group,
    note,
    outlined,
  }));
  const groups = [...new Set(values.map((v) => v.group))];
  const x = { scale: "x", field: "model" };
  return {
    $schema: VEGA_SCHEMA,
    width: Math.max(260, 95 * values.length),
    height: 260,
    padding: 8,
    title: { text: title },
    data: [{ name: "id", values }],
    scales: [
      { name: "x", type: "band", domain: { data: "id", field: "model" }, range: "width", padding: 0.3 },
      { name: "y", type: "linear", domain: { data: "id", field: "high" }, range: "height", nice: true, zero: true },
      {
        name: "group",
        type: "ordinal",
        domain: groups,
        range: groups.map((g, i) => colours[g] ?? PALETTE[i % PALETTE.length]!),
      },
    ],
    axes: [
      { orient: "bottom", scale: "x", labelAngle: -25, labelAlign: "right", labelLimit: 240 },
      { orient: "left", scale: "y", title: "intrinsic dimension", grid: true },
    ],
    legends: groups.length > 1 ? [{ fill: "group", orient: "right" }] : [],
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
            fill: { scale: "group", field: "group" },
            stroke: { value: "#111" },
            strokeWidth: { signal: "datum.outlined ? 3 : 0" },
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
            strokeWidth: { value: 1.5 },
          },
        },
      },
      ...[
        { y: { scale: "y", field: "high", offset: -4 }, text: { signal: "format(datum.mean, '.2f')" }, fill: "#222" },
        { y: { scale: "y", value: 0, offset: -6 }, text: { field: "note" }, fill: "#fff" },
      ].map(({ y, text, fill }) => ({
        type: "text" as const,
        from: { data: "id" },
        encode: {
          enter: {
            x: { ...x, band: 0.5 },
            y,
            text,
            baseline: { value: "bottom" as const },
            align: { value: "center" as const },
            fontSize: { value: 10 },
            fill: { value: fill },
          },
        },
      })),
    ],
  };
}

/** The gap report's chart: each model's bar, the reference outlined, the others noting their gap. */
export function intrinsicGapChartSpec(report: IntrinsicGapReport, title?: string): ChartSpec {
  return idBarChartSpec(
    report.rows.map(({ name, result, gap }) => ({
      model: name,
      mean: result.mean,
      std: result.std,
      interval: result.interval,
      note: name === report.reference ? "reference" : gapNote(gap),
      outlined: name === report.reference,
    })),
    title,
  );
}

/** Writes `<basePath>.svg` and `<basePath>.png`. */
export function writeIntrinsicGapChart(
  basePath: string,
  report: IntrinsicGapReport,
  title?: string,
): Promise<ChartFiles> {
  return writeChart(basePath, intrinsicGapChartSpec(report, title));
}
