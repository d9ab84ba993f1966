// `facekd train`: a training run from a YAML config (the trainer's config, validated by its schema), resumed when
// its run folder holds a checkpoint. `facekd distill` runs the same way (runConfigFile).
import path from "node:path";
import type { Command } from "commander";
import type { z } from "zod";
import { trainConfigSchema } from "../../train/config-schema.js";
import { train } from "../../train/index.js";
import { locateConfigError, readConfigFile } from "../../config/index.js";
import { checkTrainConfig } from "../../train/preflight.js";
import { integerOption } from "../parse.js";
import { trainingProgress } from "../progress.js";
import { addDistOptions, runDistributed, type DistFlags } from "../launch.js";

/** The config keys that name files to read, and the one that names the folder to write. */
const PATH_KEYS = {
  inputs: ["data.path", "model.init", "precomputed.*", "classifiers.*.path", "teacher.init", "metrics.idData"],
  outputs: ["runDir"],
};

export interface TrainFlags extends DistFlags {
  config: string;
  runDir?: string;
  steps?: number;
  epochs?: number;
  batchSize?: number;
  threads?: number;
  seed?: number;
  device?: string;
  precision?: string;
  fresh?: boolean;
  json?: boolean;
}

/** The options `train` and `distill` share. */
export function addTrainOptions(command: Command): Command {
  return addDistOptions(command)
    .requiredOption("--config <file.yaml>", "the run's config (paths in it are relative to its folder)")
    .option("--run-dir <dir>", "run folder, over the config's runDir")
    .option("--steps <n>", "run length in steps, over the config's steps or epochs", integerOption("steps", 1))
    .option("--epochs <n>", "run length in epochs, over the config's steps or epochs", integerOption("epochs", 1))
    .option("--batch-size <n>", "over the config's batchSize", integerOption("batch-size", 1))
    .option("--threads <n>", "libtorch threads, over the config's threads", integerOption("threads", 1))
    .option("--seed <n>", "over the config's seed", integerOption("seed", 0))
    .option("--device <device>", "cpu, cuda or cuda:N, over the config's device")
    .option("--precision <dtype>", "float32, bfloat16 or float16 (cuda), over the config's precision")
    .option("--fresh", "refuse a run folder that already holds a checkpoint instead of resuming it")
    .option("--json", "print the result as JSON");
}

function overridesOf(flags: TrainFlags): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (flags.runDir !== undefined) o.runDir = path.resolve(flags.runDir);
  if (flags.steps !== undefined && flags.epochs !== undefined) throw new Error("--steps and --epochs: give one");
  if (flags.steps !== undefined) Object.assign(o, { steps: flags.steps, epochs: undefined });
  if (flags.epochs !== undefined) Object.assign(o, { epochs: flags.epochs, steps: undefined });
  if (flags.batchSize !== undefined) o.batchSize = flags.batchSize;
  if (flags.threads !== undefined) o.threads = flags.threads;
  if (flags.seed !== undefined) o.seed = flags.seed;
  if (flags.device !== undefined) o.device = flags.device;
  if (flags.precision !== undefined) o.precision = flags.precision;
  return o;
}

/** Reads `flags.config` with `schema` (the train config's, or a refinement of it), trains and prints the result. */
export async function runConfigFile(
  flags: TrainFlags,
  schema: z.ZodType<z.output<typeof trainConfigSchema>, z.input<typeof trainConfigSchema>> = trainConfigSchema,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const fromFlags = { ...overridesOf(flags), ...overrides };
  const config = readConfigFile(flags.config, schema, { ...PATH_KEYS, overrides: fromFlags });
  try {
    checkTrainConfig(config); // paths, the dataset and the losses against it, before the first step
  } catch (error) {
    throw locateConfigError(flags.config, "train config", error, Object.keys(fromFlags));
  }
  await runDistributed(flags, async (group) => {
    const display = trainingProgress();
    const result = await train(config, {
      resume: !flags.fresh,
      log: display.log,
      progress: display.listener,
      ...(group && { group }),
    });
    if ((group?.rank ?? 0) !== 0) return;
    if (flags.json) console.log(JSON.stringify({ runDir: config.runDir, ...result }, null, 2));
    else if (result.modelFile) console.log(`trained ${result.step} steps; model: ${result.modelFile}`);
    else console.log(`stopped at step ${result.step}/${result.totalSteps}; resume with the same command`);
  });
}

export function registerTrain(program: Command): void {
  addTrainOptions(
    program
      .command("train")
      .description("train a model from a YAML config: run folder with checkpoints, metrics and model.safetensors"),
  )
    .addHelpText(
      "after",
      "\nExamples:\n  facekd train --config examples/configs/train-teacher.yaml\n" +
        "  facekd train --config train.yaml --run-dir runs/try2 --steps 500 --threads 4 --fresh\n" +
        "  facekd train --config train.yaml --nproc 2   # data-parallel on 2 processes; batchSize is per process\n\n" +
        "A run folder that holds a checkpoint is resumed where it stopped (unless --fresh), with any number of " +
        "processes.",
    )
    .action((flags: TrainFlags) => runConfigFile(flags));
}
