// The report of a `facekd refo` run: one self-contained HTML page (inline CSS and SVG charts, nothing fetched)
// written to `<runDir>/report.html`.
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  chartSvg,
  idTrainingChartSpec,
  intrinsicDimensionChartSpec,
  lossChartSpec,
  rocSpecForIjb,
  rocSpecForSet,
} from "./charts.js";
import { readStageCurves } from "./metrics.js";
import { renderPage, type ChartOrNote, type ReportCharts } from "./page.js";
import { readResults } from "./read-results.js";
import type { RunResults } from "./results.js";
import { verificationSets } from "./tables.js";

export type * from "./results.js";
export { readResults, resultsPath, readSweepSummary, sweepResultsPath } from "./read-results.js";
export { distillationErrorAt, distillationGammas, ijbHeadlineFar, ijbTarAt } from "./tables.js";
export { formatResultsTable } from "./text-table.js";
export {
  summarizeSweep,
  sweepSummarySchema,
  type SweepSummary,
  type SweepGroup,
  type SweepComparison,
  type SweepPointResults,
} from "./sweep-results.js";
export { formatSweepSummary } from "./sweep-text.js";
export { writeSweepReport, writeSweepCharts } from "./sweep-page.js";

async function buildCharts(runDir: string, results: RunResults): Promise<ReportCharts> {
  const loss: ChartOrNote[] = [];
  const idTraining: ChartOrNote[] = [];
  for (const curves of readStageCurves(runDir, results.models)) {
    const stage = results.stages.find((s) => s.id === curves.stage)?.title ?? curves.stage;
    const trained = curves.models.map((m) => m.label).join(", ");
    const caption = `${stage} (${curves.file})`;
    const skipped =
      curves.skipped.length === 0
        ? null
        : `${curves.skipped.length} skipped steps (dashed red): ` +
          [...new Set(curves.skipped.map((s) => s.reason))].join("; ");
    loss.push(
      curves.problem === null
        ? { caption, svg: await chartSvg(lossChartSpec(curves, trained)), note: skipped }
        : { caption, svg: null, note: `${trained}: no loss curve, ${curves.problem}` },
    );
    if (curves.intrinsicDimension.length > 0)
      idTraining.push({
        caption: `${stage}: TwoNN on a fixed sample (the ID set, else its training data), 95% interval shaded (${curves.file})`,
        svg: await chartSvg(idTrainingChartSpec(curves.intrinsicDimension, `${trained}: ID during training`)),
        note: null,
      });
  }
  const roc: ChartOrNote[] = [];
  for (const set of verificationSets(results.models)) {
    const spec = rocSpecForSet(results.models, set);
    roc.push(
      spec === null
        ? { caption: set, svg: null, note: `${set}: no operating point with FAR > 0 to draw` }
        : { caption: `${set}: TAR against FAR (log scale), one line per model`, svg: await chartSvg(spec), note: null },
    );
  }
  const target = results.models.find((m) => m.ijb)?.ijb?.target;
  const ijbSpec = target === undefined ? null : rocSpecForIjb(results.models, target);
  if (target !== undefined) {
    roc.push(
      ijbSpec === null
        ? { caption: target, svg: null, note: `${target}: no operating point with FAR > 0 to draw` }
        : {
            caption: `${target} template pairs: TAR against FAR (log scale)`,
            svg: await chartSvg(ijbSpec),
            note: null,
          },
    );
  }
  const idSpec = intrinsicDimensionChartSpec(results);
  const reference = results.models.find((m) => m.id === results.intrinsicGap?.reference)?.label;
  const intrinsicDimension =
    idSpec === null
      ? null
      : {
          caption: `TwoNN on the shared sample; whiskers: 95% interval (± 1 std in results without one)${reference ? `; outlined: ${reference}, the reference of the gaps` : ""}`,
          svg: await chartSvg(idSpec),
          note: null,
        };
  return { loss, roc, intrinsicDimension, idTraining };
}

/** Writes `<runDir>/report.html` from the run's results.json and metrics files; returns its path. */
export async function writeReport(runDir: string): Promise<string> {
  const results = readResults(runDir);
  const html = renderPage(results, await buildCharts(runDir, results));
  const file = path.join(runDir, "report.html");
  writeFileSync(file, html);
  return file;
}
