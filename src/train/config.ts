// A training run as plain, JSON-serializable data (written to the run folder as config.json). Its keys, defaults
// and checks are the zod schema's (config-schema.ts); these are its types and the check that names the bad keys.
import type { z } from "zod";
import { dataSchema, modelSchema, optimizerSchema, scheduleSchema, trainConfigSchema } from "./config-schema.js";
import { parseConfig } from "../config/index.js";

export type OptimizerConfig = z.output<typeof optimizerSchema>;
export type ScheduleConfig = z.output<typeof scheduleSchema>;
export type DataConfig = z.output<typeof dataSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
/** A config as written: defaults may be left out. */
export type TrainConfig = z.input<typeof trainConfigSchema>;
/** A config with every default filled in. */
export type ResolvedTrainConfig = z.output<typeof trainConfigSchema>;

/** `config` with every default filled in, or an error naming each bad key. */
export function resolveConfig(config: TrainConfig): ResolvedTrainConfig {
  return parseConfig(trainConfigSchema, config, "train config");
}
