// The `facekd` command: parses arguments and hands each subcommand to the library.
import { Command, CommanderError } from "commander";
import { colors as pc } from "./colors.js";
import { registerData } from "./commands/data.js";
import { registerDistill } from "./commands/distill.js";
import { registerEmbed } from "./commands/embed.js";
import { registerEval } from "./commands/eval.js";
import { registerExport } from "./commands/export.js";
import { registerId } from "./commands/id.js";
import { registerInfo } from "./commands/info.js";
import { registerModels } from "./commands/models.js";
import { registerRefo } from "./commands/refo.js";
import { registerReport } from "./commands/report.js";
import { registerTrain } from "./commands/train.js";

export function buildProgram(): Command {
  const program = new Command("facekd")
    .description("Knowledge distillation for face recognition (ReFO / ReFO+) on libtorch")
    .showHelpAfterError()
    .exitOverride();
  registerRefo(program);
  registerReport(program);
  registerModels(program);
  registerData(program);
  registerTrain(program);
  registerDistill(program);
  registerEmbed(program);
  registerEval(program);
  registerExport(program);
  registerId(program);
  registerInfo(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode; // commander already printed the message
    console.error(pc.red(`facekd: ${error instanceof Error ? error.message : String(error)}`));
    return 1;
  }
}
