// The checks before a run's first stage (and all of `--dry-run`): every path the config names exists with the right
// kind, is readable and holds a format facekd reads; the relations between keys hold (batches against dataset
// sizes, class counts against labels, verification packs against the protocol's folds, the pretrained teacher
// against teacher.model and embeddingSize). Model names and numeric ranges are the schema's (config.ts). Every
// problem is collected and thrown at once as a ConfigError naming its key, which the command turns into
// `<file>:<line>: <key>: <problem>`: an error costs seconds here instead of the hours of training before it.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ConfigError, type ConfigProblem } from "../config/index.js";
import { openDataset, readVerificationPack, type FaceSource } from "../data/index.js";
import { loadBackbone } from "../models/index.js";
import type { RefoConfig } from "./config.js";
import type { RunPaths } from "./context.js";
import { externalInputs, type ExternalInput } from "./inputs.js";

/** What the plan needs to know of the data. */
export interface RunFacts {
  /** D1's identities: the margin heads' class count. */
  numClasses: number;
  /** Samples in D1 and D2. */
  d1Size: number;
  d2Size: number;
}

/** The insightface protocol's folds: a pack needs at least one pair per fold. */
const PROTOCOL_FOLDS = 10;
/** Records whose labels are read to check them against the class count (spread evenly over D1). */
const LABEL_SAMPLE = 100;

/** `data.verification[0]` -> ["data", "verification", 0]. */
const keyPath = (key: string): (string | number)[] =>
  key
    .split(/\.|\[(\d+)\]/)
    .flatMap((part, i): (string | number)[] =>
      part === undefined || part === "" ? [] : [i % 2 ? Number(part) : part],
    );

class Problems {
  readonly list: ConfigProblem[] = [];
  add(key: string, problem: string): void {
    this.list.push({ path: keyPath(key), key, problem });
  }
  /** Runs `check`, turning what it throws into a problem of `key`. */
  catch<T>(key: string, check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      this.add(key, (error as Error).message);
      return undefined;
    }
  }
}

/** Exists, is a file or a folder as `kind` needs, and is readable; else a problem of `input.key`. */
function checkPath(problems: Problems, { key, path, kind }: ExternalInput): boolean {
  if (!existsSync(path)) {
    problems.add(key, `${path} does not exist`);
    return false;
  }
  const folder = statSync(path).isDirectory();
  if (folder && kind !== "dataset") {
    const what = kind === "pack" ? "a .bin verification pack" : "a checkpoint (.pth or .safetensors)";
    problems.add(key, `${path} is a folder; ${key} names ${what}, a file: give the file inside it`);
    return false;
  }
  try {
    accessSync(path, constants.R_OK);
  } catch {
    problems.add(key, `${path} is not readable (check its permissions)`);
    return false;
  }
  return true;
}

/** Reads the labels of records spread over `source` (which checks them against its class count). */
function checkLabels(source: FaceSource): void {
  const count = Math.min(LABEL_SAMPLE, source.length);
  for (let i = 0; i < count; i++) {
    const index = Math.floor((i * (source.length - 1)) / Math.max(1, count - 1));
    const { label } = source.read(index);
    if (source.numClasses !== null && (label < 0 || label >= source.numClasses)) {
      throw new Error(
        `${source.name}: record ${index} has label ${label}, but the set declares ${source.numClasses} classes ` +
          "(fix the class count, e.g. the pack's property file)",
      );
    }
  }
}

function openD1(problems: Problems, input: ExternalInput): number | undefined {
  return problems.catch(input.key, () => {
    const source = openDataset(input.path);
    try {
      if (source.numClasses === null || source.numClasses < 2) {
        throw new Error(
          `${input.path} does not say how many identities it holds (a .rec needs its property file, a folder one ` +
            "subfolder per identity): ReFO's classification stages need labeled data",
        );
      }
      checkLabels(source);
      return source.numClasses;
    } finally {
      source.close();
    }
  });
}

function datasetSize(problems: Problems, input: ExternalInput): number | undefined {
  return problems.catch(input.key, () => {
    const source = openDataset(input.path);
    try {
      return source.length;
    } finally {
      source.close();
    }
  });
}

function checkPack(problems: Problems, input: ExternalInput): void {
  const pairs = problems.catch(input.key, () => readVerificationPack(input.path).issame.length);
  if (pairs !== undefined && pairs < PROTOCOL_FOLDS) {
    problems.add(
      input.key,
      `${input.path} holds ${pairs} pairs, but the verification protocol splits them into ${PROTOCOL_FOLDS} folds ` +
        `of at least one pair: give a pack with ${PROTOCOL_FOLDS} pairs or more (insightface's hold 6,000-7,000)`,
    );
  }
}

function checkTeacher(problems: Problems, config: RefoConfig, input: ExternalInput): void {
  const { model } = config.teacher;
  problems.catch(input.key, () => {
    try {
      loadBackbone(model, input.path, { embeddingSize: config.embeddingSize }).dispose();
    } catch (error) {
      throw new Error(
        `cannot load ${input.path} as teacher.model '${model}' with embeddingSize ${config.embeddingSize} ` +
          `(set both to the teacher's): ${(error as Error).message}`,
      );
    }
  });
}

/** runDir must be a folder, or creatable: its nearest existing ancestor a writable folder. */
function checkRunDir(problems: Problems, runDir: string): void {
  let existing = resolve(runDir);
  while (!existsSync(existing)) existing = dirname(existing);
  const what = existing === resolve(runDir) ? "the run folder" : `${existing}, a folder above the run folder,`;
  if (!statSync(existing).isDirectory()) {
    problems.add("runDir", `${what} is a file: give a folder path (${runDir})`);
    return;
  }
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    problems.add("runDir", `${what} is not writable (${existing})`);
  }
}

function checkBatches(problems: Problems, config: RefoConfig, d1Size: number, d2Size: number): void {
  const sets = [
    ["teacher", "D1", d1Size],
    ["student", "D1", d1Size],
    ["student", "D2", d2Size],
  ] as const;
  const reported = new Set<string>();
  for (const [who, set, size] of sets) {
    const { batchSize } = config[who];
    if (batchSize > size && !reported.has(who)) {
      reported.add(who);
      problems.add(
        `${who}.batchSize`,
        `is ${batchSize}, more than the ${size} images of ${set}: an epoch would make no batch; use at most ${size}`,
      );
    }
  }
}

/** Checks `config` (run in `paths`) before anything runs; throws a ConfigError listing every problem. */
export function preflight(config: RefoConfig, paths: RunPaths): RunFacts {
  const problems = new Problems();
  checkRunDir(problems, paths.runDir);
  const { synthetic } = config.data;
  const generated = { d1: synthetic.identities * synthetic.imagesPerIdentity, classes: synthetic.identities };
  let numClasses: number | undefined = generated.classes;
  let d1Size: number | undefined = generated.d1;
  let d2Size: number | undefined =
    config.data.labeled === undefined
      ? synthetic.unlabeledIdentities * synthetic.unlabeledImagesPerIdentity
      : undefined;
  for (const input of externalInputs(config)) {
    if (!checkPath(problems, input)) {
      if (input.key === "data.labeled") numClasses = d1Size = undefined;
      continue;
    }
    if (input.key === "data.labeled") {
      numClasses = openD1(problems, input);
      d1Size = numClasses === undefined ? undefined : datasetSize(problems, input);
    } else if (input.kind === "dataset") d2Size = datasetSize(problems, input);
    else if (input.kind === "pack") checkPack(problems, input);
    else checkTeacher(problems, config, input);
  }
  d2Size ??= config.data.unlabeled === undefined ? d1Size : undefined;
  if (config.data.verification === undefined && config.data.labeled === undefined && synthetic.pairs < PROTOCOL_FOLDS)
    problems.add("data.synthetic.pairs", `must be at least ${PROTOCOL_FOLDS}, one per fold of the protocol`);
  if (d1Size !== undefined && d2Size !== undefined) checkBatches(problems, config, d1Size, d2Size);
  if (d1Size !== undefined && Math.floor(Math.min(config.evaluation.idSample, d1Size) * 0.9) < 3)
    problems.add("evaluation.idSample", `leaves too few D1 samples (${d1Size} in D1) for TwoNN: need at least 4`);
  if (problems.list.length > 0 || numClasses === undefined || d1Size === undefined || d2Size === undefined)
    throw new ConfigError("refo config", problems.list);
  return { numClasses, d1Size, d2Size };
}
