// `facekd models`: every registered backbone with its parameters, FLOPs and embedding size.
import type { Command } from "commander";
import { describeModels, formatModelTable, listModels } from "../../models/index.js";

export function registerModels(program: Command): void {
  program
    .command("models")
    .description("list the registered backbones with parameters, FLOPs at their input size and embedding size")
    .option("--json", "print JSON instead of a table")
    .option("--filter <text>", "only models whose name contains this text")
    .addHelpText(
      "after",
      `
Examples:
  facekd models
  facekd models --filter mbf
  facekd models --json > models.json`,
    )
    .action((opts: { json?: boolean; filter?: string }) => {
      const names = listModels().filter((n) => opts.filter === undefined || n.includes(opts.filter));
      if (names.length === 0) throw new Error(`no registered model name contains '${opts.filter}'`);
      const infos = describeModels(names);
      console.log(opts.json ? JSON.stringify(infos, null, 2) : formatModelTable(infos));
    });
}
