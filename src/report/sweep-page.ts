// The report of a sweep: `<sweep folder>/sweep.html`, one self-contained page. Forest plots (a point per mean, a
// whisker per 95% interval) show each model's accuracy per grid point and the paired differences against zero,
// beside the text tables and links to each point's own report.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { VEGA_SCHEMA, writeChart, type ChartSpec } from "../analysis/chart.js";
import { chartSvg } from "./charts.js";
import { escapeHtml as e } from "./format.js";
import { REPORT_CSS } from "./style.js";
import type { SweepSummary } from "./sweep-results.js";
import { formatSweepSummary } from "./sweep-text.js";

interface ForestRow {
  label: string;
  mean: number;
  low: number;
  high: number;
}

function forestSpec(rows: readonly ForestRow[], title: string, xTitle: string, zero: boolean): ChartSpec {
  return {
    $schema: VEGA_SCHEMA,
    width: 420,
    height: Math.max(60, 22 * rows.length),
    padding: 8,
    title: { text: title },
    data: [{ name: "rows", values: rows }],
    scales: [
      { name: "y", type: "band", domain: rows.map((r) => r.label), range: "height", padding: 0.3 },
      {
        name: "x",
        type: "linear",
        domain: [
          Math.min(...rows.map((r) => r.low), ...(zero ? [0] : [])),
          Math.max(...rows.map((r) => r.high), ...(zero ? [0] : [])),
        ],
        range: "width",
        nice: true,
        zero: false,
      },
    ],
    axes: [
      { orient: "bottom", scale: "x", title: xTitle, grid: true },
      { orient: "left", scale: "y", labelLimit: 560 },
    ],
    marks: [
      ...(zero
        ? [
            {
              type: "rule" as const,
              encode: {
                enter: {
                  x: { scale: "x", value: 0 },
                  y: { value: 0 },
                  y2: { signal: "height" },
                  stroke: { value: "#888" },
                  strokeDash: { value: [4, 3] },
                },
              },
            },
          ]
        : []),
      {
        type: "rule",
        from: { data: "rows" },
        encode: {
          enter: {
            x: { scale: "x", field: "low" },
            x2: { scale: "x", field: "high" },
            y: { scale: "y", field: "label", band: 0.5 },
            stroke: { value: "#4c78a8" },
            strokeWidth: { value: 2 },
          },
        },
      },
      {
        type: "symbol",
        from: { data: "rows" },
        encode: {
          enter: {
            x: { scale: "x", field: "mean" },
            y: { scale: "y", field: "label", band: 0.5 },
            fill: { value: "#f58518" },
            size: { value: 50 },
          },
        },
      },
    ],
  };
}

/** A whisker needs an interval: a single seed's mean is drawn as a point. */
const row = (
  label: string,
  i: { mean: number; low: number | null; high: number | null },
  scale: number,
): ForestRow => ({
  label,
  mean: scale * i.mean,
  low: scale * (i.low ?? i.mean),
  high: scale * (i.high ?? i.mean),
});

/** The sweep's charts by file name: the paired differences in accuracy and in ID, and every model's accuracy. */
export function sweepChartSpecs(summary: SweepSummary): { name: string; spec: ChartSpec }[] {
  const many = summary.groups.length > 1;
  // the group's values first: a long label is cut at its end
  const where = (g: SweepSummary["groups"][number], label: string) =>
    many
      ? `${Object.entries(g.values)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(", ")} · ${label}`
      : label;
  const charts: { name: string; spec: ChartSpec }[] = [];
  for (const metric of ["accuracy", "intrinsicDimension"] as const) {
    const scale = metric === "accuracy" ? 100 : 1;
    const rows = summary.groups.flatMap((g) =>
      g.comparisons.filter((c) => c.metric === metric).map((c) => row(where(g, c.label), c.difference, scale)),
    );
    if (rows.length === 0) continue;
    charts.push(
      metric === "accuracy"
        ? {
            name: "differences-accuracy",
            spec: forestSpec(rows, `Paired differences in ${summary.set} accuracy`, "points, mean and 95% CI", true),
          }
        : { name: "differences-id", spec: forestSpec(rows, "Paired differences in TwoNN ID", "ID difference", true) },
    );
  }
  const accuracy = summary.groups.flatMap((g) =>
    g.models.flatMap((m) => (m.accuracy === null ? [] : [row(where(g, m.label), m.accuracy, 100)])),
  );
  if (accuracy.length > 0) {
    charts.push({
      name: "accuracy",
      spec: forestSpec(accuracy, `${summary.set} accuracy per model`, "%, mean and 95% CI", false),
    });
  }
  return charts;
}

/** Writes each chart of the sweep as `<dir>/<name>.svg` and `.png` (for documents); returns the PNG paths. */
export async function writeSweepCharts(dir: string, summary: SweepSummary): Promise<string[]> {
  const files: string[] = [];
  for (const { name, spec } of sweepChartSpecs(summary)) files.push((await writeChart(path.join(dir, name), spec)).png);
  return files;
}

/** Writes `<sweepDir>/sweep.html`; returns its path. */
export async function writeSweepReport(sweepDir: string, summary: SweepSummary): Promise<string> {
  const svgs = await Promise.all(sweepChartSpecs(summary).map(({ spec }) => chartSvg(spec)));
  const figures = svgs.map((svg) => `<figure class="chart">${svg}</figure>`).join("");
  const links = summary.points
    .map((p) => `<li><a href="${e(path.posix.join(p.runDir, "report.html"))}">${e(p.name)}</a></li>`)
    .join("");
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`facekd sweep: ${summary.name}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header>
<h1>${e(`facekd sweep: ${summary.name}`)}</h1>
<p class="meta"><span>${e(summary.createdAt.slice(0, 16).replace("T", " "))} UTC</span><span>${e(summary.machine)}</span><span>${summary.points.length} runs</span></p>
</header>
<section><h2>Means and paired differences</h2><div class="charts">${figures}</div></section>
<section><h2>Tables</h2><pre>${e(formatSweepSummary(summary))}</pre></section>
<section><h2>Runs</h2><ul>${links}</ul></section>
</main>
</body>
</html>
`;
  const file = path.join(sweepDir, "sweep.html");
  writeFileSync(file, html);
  return file;
}
