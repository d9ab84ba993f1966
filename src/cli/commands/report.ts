// `facekd report`: the HTML report of a `facekd refo` run folder, or of a sweep's folder.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import {
  readSweepSummary,
  sweepResultsPath,
  writeReport,
  writeSweepCharts,
  writeSweepReport,
} from "../../report/index.js";

interface ReportOptions {
  json?: boolean;
  charts?: string;
}

async function sweepReport(dir: string, o: ReportOptions): Promise<{ report: string; charts: string[] }> {
  const summary = readSweepSummary(dir);
  const report = await writeSweepReport(dir, summary);
  return { report, charts: o.charts === undefined ? [] : await writeSweepCharts(o.charts, summary) };
}

export function registerReport(program: Command): void {
  program
    .command("report <runDir>")
    .description(
      "write <runDir>/report.html from the run's results.json (models, loss and ROC curves, intrinsic dimension), " +
        "or <runDir>/sweep.html from a sweep's sweep-results.json",
    )
    .option("--charts <dir>", "a sweep's charts also as PNG and SVG files in <dir> (for documents)")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nThe page is self-contained (inline CSS and SVG): it opens offline and can be mailed as one file.\n" +
        "\nExamples:\n  facekd report runs/demo\n  facekd report runs/demo --json\n" +
        "  facekd report runs/study-seeds --charts docs/study",
    )
    .action(async (runDir: string, o: ReportOptions) => {
      if (existsSync(sweepResultsPath(runDir))) {
        const written = await sweepReport(runDir, o);
        console.log(o.json ? JSON.stringify(written, null, 2) : [written.report, ...written.charts].join("\n"));
        return;
      }
      if (o.charts !== undefined)
        throw new Error(`--charts: ${runDir} is not a sweep's folder (no sweep-results.json)`);
      const report = await writeReport(runDir);
      console.log(o.json ? JSON.stringify({ report }, null, 2) : report);
    });
}
