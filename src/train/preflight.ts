// The checks of a training config before its first step (`facekd train` and `facekd distill`): the paths it names
// have the right kind, the dataset opens and holds at least one batch, each loss's options parse, its class count
// covers the dataset's identities and its embedding size is the model's. Every problem is collected and thrown as
// one ConfigError naming its key; the command puts the config file's line beside each.
import { ConfigProblems, checkConfig, inputPathProblem, outputFolderProblem } from "../config/index.js";
import { openDataset, type FaceSource } from "../data/index.js";
import { lossDefinition } from "../distill/index.js";
import { resolveSpec } from "../models/index.js";
import { resolveDevice } from "../torch/index.js";
import type { ResolvedTrainConfig } from "./config.js";

/** Records whose labels are read, spread evenly over the dataset. */
const LABEL_SAMPLE = 100;

/**
 * The largest label among records spread over `source` (reading them checks their framing and, for a pack that
 * declares its classes, each label against that count).
 */
export function sampledMaxLabel(source: FaceSource, count = LABEL_SAMPLE): number {
  let max = -1;
  const n = Math.min(count, source.length);
  for (let i = 0; i < n; i++) {
    const index = Math.floor((i * (source.length - 1)) / Math.max(1, n - 1));
    max = Math.max(max, source.read(index).label);
  }
  if (source.numClasses !== null && max >= source.numClasses) {
    throw new Error(
      `${source.name} has label ${max}, but it declares ${source.numClasses} classes: fix the class count (a .rec's ` +
        "property file)",
    );
  }
  return max;
}

/** The identities of `source`: its declared count, else one more than its largest sampled label. */
const identitiesOf = (source: FaceSource): number => Math.max(source.numClasses ?? 0, sampledMaxLabel(source) + 1);

function checkDataset(problems: ConfigProblems, config: ResolvedTrainConfig): void {
  const { path } = config.data;
  const missing = inputPathProblem(path, "any");
  if (missing !== null) return problems.add(["data", "path"], missing);
  let source: FaceSource;
  try {
    source = openDataset(path);
  } catch (error) {
    return problems.add(["data", "path"], (error as Error).message);
  }
  try {
    if (config.batchSize > source.length) {
      problems.add(
        ["batchSize"],
        `is ${config.batchSize}, more than the ${source.length} images of ${path}: use at most ${source.length}`,
      );
    }
    let identities: number | undefined;
    try {
      identities = identitiesOf(source);
    } catch (error) {
      problems.add(["data", "path"], (error as Error).message);
    }
    checkLosses(problems, config, identities);
  } finally {
    source.close();
  }
}

function checkLosses(problems: ConfigProblems, config: ResolvedTrainConfig, identities: number | undefined): void {
  let embeddingSize: number | undefined;
  try {
    embeddingSize = resolveSpec(config.model.name, config.model.options ?? {}).embeddingSize;
  } catch (error) {
    problems.add(["model"], (error as Error).message);
  }
  for (const [i, loss] of config.losses.entries()) {
    let schema;
    try {
      schema = lossDefinition(loss.name).options;
    } catch (error) {
      problems.add(["losses", i, "name"], (error as Error).message);
      continue;
    }
    const parsed = checkConfig(schema, loss.options ?? {});
    if (!parsed.ok) {
      for (const p of parsed.problems) problems.add(["losses", i, "options", ...p.path], p.problem);
      continue;
    }
    const options = parsed.value as { model?: string; numClasses?: unknown; embeddingSize?: unknown };
    const own = options.model === undefined || options.model === config.role;
    if (typeof options.numClasses === "number" && identities !== undefined && options.numClasses < identities) {
      problems.add(
        ["losses", i, "options", "numClasses"],
        `is ${options.numClasses}, but ${config.data.path} holds ${identities} identities: set it to ${identities}`,
      );
    }
    if (own && typeof options.embeddingSize === "number" && embeddingSize !== undefined) {
      if (options.embeddingSize !== embeddingSize) {
        problems.add(
          ["losses", i, "options", "embeddingSize"],
          `is ${options.embeddingSize}${loss.options?.embeddingSize === undefined ? " (its default)" : ""}, but ` +
            `the model's embedding has ${embeddingSize} dimensions: set it to ${embeddingSize}`,
        );
      }
    }
  }
}

/** Checks `config` before training; throws a ConfigError listing every problem. */
export function checkTrainConfig(config: ResolvedTrainConfig): void {
  const problems = new ConfigProblems();
  problems.add(["runDir"], outputFolderProblem(config.runDir));
  problems.catch(["device"], () => resolveDevice(config.device));
  checkDataset(problems, config);
  const checkpoint = "a checkpoint (.safetensors or .pth)";
  if (config.model.init !== undefined)
    problems.add(["model", "init"], inputPathProblem(config.model.init, "file", checkpoint));
  if (config.teacher !== undefined)
    problems.add(["teacher", "init"], inputPathProblem(config.teacher.init, "file", checkpoint));
  for (const [role, file] of Object.entries(config.precomputed ?? {})) {
    if (file !== undefined) problems.add(["precomputed", role], inputPathProblem(file, "file", "an embeddings .npy"));
  }
  const idData = config.metrics?.idData;
  if (idData !== undefined) problems.add(["metrics", "idData"], inputPathProblem(idData, "any"));
  for (const [role, entry] of Object.entries(config.classifiers ?? {})) {
    if (entry !== undefined)
      problems.add(["classifiers", role, "path"], inputPathProblem(entry.path, "file", checkpoint));
  }
  problems.throwIfAny("train config");
}
