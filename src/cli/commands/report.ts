// `facekd report`: the HTML report of a `facekd refo` run folder.
import type { Command } from "commander";
import { writeReport } from "../../report/index.js";

export function registerReport(program: Command): void {
  program
    .command("report <runDir>")
    .description(
      "write <runDir>/report.html from the run's results.json: models, loss and ROC curves, intrinsic dimension",
    )
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nThe page is self-contained (inline CSS and SVG): it opens offline and can be mailed as one file.\n" +
        "\nExamples:\n  facekd report runs/demo\n  facekd report runs/demo --json",
    )
    .action(async (runDir: string, o: { json?: boolean }) => {
      const report = await writeReport(runDir);
      console.log(o.json ? JSON.stringify({ report }, null, 2) : report);
    });
}
