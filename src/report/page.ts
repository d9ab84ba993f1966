// The report page: header with the findings, then models, IJB-B/C, training, verification, intrinsic dimension,
// stages and configuration. Every text is escaped; the charts come in as SVG rendered by vega.
import { escapeHtml as e } from "./format.js";
import type { RunResults } from "./results.js";
import { REPORT_CSS } from "./style.js";
import { ijbTable, intrinsicGapTable, modelsTable, stagesTable } from "./tables.js";

/** A chart's SVG, or why it could not be drawn. */
export interface ChartOrNote {
  caption: string;
  svg: string | null;
  note: string | null;
}

export interface ReportCharts {
  loss: ChartOrNote[];
  roc: ChartOrNote[];
  intrinsicDimension: ChartOrNote | null;
  /** The ID against step of the stages that tracked it. */
  idTraining: ChartOrNote[];
}

function figure(c: ChartOrNote): string {
  const note = c.note === null ? "" : `<p class="note">${e(c.note)}</p>`;
  if (c.svg === null) return note;
  return `<figure class="chart">${c.svg}<figcaption>${e(c.caption)}</figcaption>${note}</figure>`;
}

function chartsSection(title: string, charts: readonly ChartOrNote[], empty: string): string {
  // charts that could not be drawn are notes above the grid, so they do not break its rows
  const notes = charts.filter((c) => c.svg === null).map(figure);
  const drawn = charts.filter((c) => c.svg !== null).map(figure);
  const grid = drawn.length === 0 ? "" : `<div class="charts">${drawn.join("")}</div>`;
  const body = charts.length === 0 ? `<p class="note">${e(empty)}</p>` : notes.join("") + grid;
  return `<section><h2>${e(title)}</h2>${body}</section>`;
}

function formatDate(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export function renderPage(results: RunResults, charts: ReportCharts): string {
  const findings =
    results.findings.length === 0
      ? ""
      : `<div class="findings"><h2>Findings</h2><ul>${results.findings.map((f) => `<li>${e(f)}</li>`).join("")}</ul></div>`;
  const id = charts.intrinsicDimension;
  const idBody = id === null ? '<p class="note">No model has an intrinsic dimension in this run.</p>' : figure(id);
  const config = JSON.stringify(results.config ?? null, null, 2);
  const ijb = ijbTable(results.models);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(`facekd refo: ${results.name}`)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header>
<h1>${e(`facekd refo: ${results.name}`)}</h1>
<p class="meta"><span>${e(formatDate(results.createdAt))}</span><span>${e(results.machine)}</span><span>${results.models.length} models</span></p>
${findings}
</header>
<section><h2>Models</h2>${modelsTable(results.models)}</section>
${ijb === "" ? "" : `<section><h2>IJB-B/C</h2>${ijb}</section>`}
${chartsSection("Training loss", charts.loss, "No model was trained in this run.")}
${chartsSection("Verification (ROC)", charts.roc, "No model was evaluated on a verification set.")}
<section><h2>Intrinsic dimension</h2><div class="side">${idBody}${intrinsicGapTable(results)}</div></section>
${charts.idTraining.length === 0 ? "" : chartsSection("Intrinsic dimension during training", charts.idTraining, "")}
<section><h2>Stages</h2>${stagesTable(results)}</section>
<section><h2>Configuration</h2><details><summary>resolved configuration (JSON)</summary><pre>${e(config)}</pre></details></section>
</main>
</body>
</html>
`;
}
