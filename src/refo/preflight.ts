// The checks before a run's first stage (and all of `--dry-run`): every path the config names exists with the right
// kind, is readable and holds a format facekd reads; the relations between keys hold (batches against dataset
// sizes, class counts against labels, verification packs against the protocol's folds, every line of an IJB
// release's meta files, the pretrained teacher against teacher.model and embeddingSize, the ONNX teacher's
// embedding size against embeddingSize). Model names and numeric ranges are the schema's (config.ts). Every
// problem is collected and thrown at once as a ConfigError naming its key, which the command turns into
// `<file>:<line>: <key>: <problem>`: an error costs seconds here instead of the hours of training before it.
import { ConfigProblems, inputPathProblem, outputFolderProblem } from "../config/index.js";
import { statSync } from "node:fs";
import { listIdentities, listPhotos, openDataset, readIjbRelease, readVerificationPack } from "../data/index.js";
import { checkBackboneFile, OnnxTeacher } from "../models/index.js";
import { resolveDevice } from "../torch/index.js";
import { sampledMaxLabel } from "../train/preflight.js";
import type { RefoConfig } from "./config.js";
import { idSetIdentities, type RunPaths } from "./context.js";
import { externalInputs, type ExternalInput } from "./inputs.js";

/** What the plan needs to know of the data. */
export interface RunFacts {
  /** D1's identities: the margin heads' class count. */
  numClasses: number;
  /** Samples in D1 and D2 (with data.align: D1's photos, an upper bound, and D2's unknown, Infinity). */
  d1Size: number;
  d2Size: number;
}

/** The fewest samples TwoNN's interval takes (its half-samples need three points each). */
const MIN_ID_SAMPLE = 6;

/** The insightface protocol's folds: a pack needs at least one pair per fold. */
const PROTOCOL_FOLDS = 10;

/** Exists, is a file or a folder as `kind` needs, and is readable; else a problem of `input.key`. */
function checkPath(problems: ConfigProblems, { at, path, kind }: ExternalInput): boolean {
  const what = {
    dataset: "a dataset",
    pack: "a .bin verification pack",
    ijb: "an IJB release folder (meta/ and loose_crop/)",
    checkpoint: "a checkpoint (.pth, .safetensors or .onnx)",
    onnx: "an ONNX model (.onnx)",
  }[kind];
  const problem = inputPathProblem(path, kind === "dataset" || kind === "ijb" ? "any" : "file", what);
  problems.add(at, problem);
  return problem === null;
}

/** D1's identities (its labels checked on a sample) and size. */
function openD1(problems: ConfigProblems, input: ExternalInput): { classes: number; size: number } | undefined {
  return problems.catch(input.at, () => {
    const source = openDataset(input.path);
    try {
      if (source.numClasses === null || source.numClasses < 2) {
        throw new Error(
          `${input.path} does not say how many identities it holds (a .rec needs its property file, a folder one ` +
            "subfolder per identity): ReFO's classification stages need labeled data",
        );
      }
      sampledMaxLabel(source);
      return { classes: source.numClasses, size: source.length };
    } finally {
      source.close();
    }
  });
}

/**
 * A folder of raw photos for `data.align`, counted by listing it: the identities (labeled) and photos. The plan
 * takes the photos for D1's size, an upper bound: a photo without a face gives no sample.
 */
async function photoFolder(
  problems: ConfigProblems,
  input: ExternalInput,
  labeled: boolean,
): Promise<{ classes: number; size: number } | undefined> {
  if (!statSync(input.path).isDirectory()) {
    problems.add(input.at, `${input.path} is a file, but data.align reads a folder of photos: name the folder`);
    return undefined;
  }
  try {
    const classes = labeled ? (await listIdentities(input.path)).length : 0;
    if (labeled && classes < 2) {
      throw new Error(
        `${input.path} holds ${classes} identity subfolder: ReFO's classification stages need two or more`,
      );
    }
    let size = 0;
    const photos = listPhotos(input.path, labeled);
    while (!(await photos.next()).done) size++;
    if (size === 0) throw new Error(`${input.path} holds no photos (.jpg, .png, .webp, ...)`);
    return { classes, size };
  } catch (error) {
    problems.add(input.at, (error as Error).message);
    return undefined;
  }
}

function datasetSize(problems: ConfigProblems, input: ExternalInput): number | undefined {
  return problems.catch(input.at, () => {
    const source = openDataset(input.path);
    try {
      return source.length;
    } finally {
      source.close();
    }
  });
}

function checkPack(problems: ConfigProblems, input: ExternalInput): void {
  const pairs = problems.catch(input.at, () => readVerificationPack(input.path).issame.length);
  if (pairs !== undefined && pairs < PROTOCOL_FOLDS) {
    problems.add(
      input.at,
      `${input.path} holds ${pairs} pairs, but the verification protocol splits them into ${PROTOCOL_FOLDS} folds ` +
        `of at least one pair: give a pack with ${PROTOCOL_FOLDS} pairs or more (insightface's hold 6,000-7,000)`,
    );
  }
}

// By its tensors' names and shapes, not a full load, so that every start and --dry-run stay quick with an IResNet-100
// teacher; a damaged weight stops the run when the import stage loads the file.
function checkTeacher(problems: ConfigProblems, config: RefoConfig, input: ExternalInput): void {
  const { model } = config.teacher;
  problems.catch(input.at, () => {
    try {
      checkBackboneFile(model, input.path, { embeddingSize: config.embeddingSize });
    } catch (error) {
      throw new Error(
        `cannot load ${input.path} as teacher.model '${model}' with embeddingSize ${config.embeddingSize} ` +
          `(set both to the teacher's): ${(error as Error).message}`,
      );
    }
  });
}

/** The ONNX teacher runs (with its input options) and gives embeddings of the run's size. */
async function checkOnnxTeacher(problems: ConfigProblems, config: RefoConfig, input: ExternalInput): Promise<void> {
  const { file, ...options } = config.teacher.onnx!;
  let teacher: OnnxTeacher;
  try {
    teacher = await OnnxTeacher.open(file, options);
  } catch (error) {
    problems.add(input.at, (error as Error).message);
    return;
  }
  const dim = teacher.embeddingSize;
  await teacher.close();
  if (dim !== config.embeddingSize) {
    problems.add(
      ["embeddingSize"],
      `is ${config.embeddingSize}, but the ONNX teacher ${file} gives ${dim}-d embeddings, which feature-only ` +
        `distillation regresses directly: set embeddingSize: ${dim}`,
    );
  }
}

/**
 * The batches against D1's and D2's sizes (D2's when known), and the ID sample against its pool: at preflight, and
 * again once data.align has counted the faces.
 */
export function checkDataSizes(problems: ConfigProblems, config: RefoConfig, d1Size: number, d2Size?: number): void {
  if (d2Size !== undefined) checkBatches(problems, config, d1Size, d2Size);
  const { idSample } = config.evaluation;
  const idSet = idSetIdentities(config);
  const [pool, poolName, poolKey] =
    idSet > 0
      ? [idSet, "the ID set", ["data", "synthetic", "idIdentities"]]
      : [d1Size, "D1", ["evaluation", "idSample"]];
  const sample = Math.min(idSample, pool);
  if (sample < MIN_ID_SAMPLE) {
    problems.add(
      idSample < MIN_ID_SAMPLE ? ["evaluation", "idSample"] : poolKey,
      `gives ${sample} samples (${pool} in ${poolName}) for TwoNN, which needs at least ${MIN_ID_SAMPLE}`,
    );
  }
}

function checkBatches(problems: ConfigProblems, config: RefoConfig, d1Size: number, d2Size: number): void {
  const sets = [
    ["teacher", "D1", d1Size],
    ["student", "D1", d1Size],
    ["student", "D2", d2Size],
  ] as const;
  const reported = new Set<string>();
  for (const [who, set, size] of sets) {
    // an ONNX teacher is never trained
    if (who === "teacher" && config.teacher.onnx !== undefined) continue;
    const { batchSize } = config[who];
    if (batchSize > size && !reported.has(who)) {
      reported.add(who);
      problems.add(
        [who, "batchSize"],
        `is ${batchSize}, more than the ${size} images of ${set}: an epoch would make no batch; use at most ${size}`,
      );
    }
  }
}

/** Checks `config` (run in `paths`) before anything runs; throws a ConfigError listing every problem. */
export async function preflight(config: RefoConfig, paths: RunPaths): Promise<RunFacts> {
  const problems = new ConfigProblems();
  problems.add(["runDir"], outputFolderProblem(paths.runDir));
  problems.catch(["device"], () => resolveDevice(config.device));
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
    if (input.kind === "dataset" && config.data.align) {
      const photos = await photoFolder(problems, input, input.key === "data.labeled");
      if (input.key === "data.labeled") [numClasses, d1Size] = [photos?.classes, photos?.size];
      // a photo of D2 may hold any number of faces: its size is known once aligned
      else if (photos !== undefined) d2Size = Infinity;
    } else if (input.key === "data.labeled") {
      const d1 = openD1(problems, input);
      [numClasses, d1Size] = [d1?.classes, d1?.size];
    } else if (input.kind === "dataset") d2Size = datasetSize(problems, input);
    else if (input.kind === "pack") checkPack(problems, input);
    else if (input.kind === "ijb")
      problems.catch(input.at, () => readIjbRelease(input.path, config.evaluation.ijb!.target));
    else if (input.kind === "onnx") await checkOnnxTeacher(problems, config, input);
    else checkTeacher(problems, config, input);
  }
  d2Size ??= config.data.unlabeled === undefined ? d1Size : undefined;
  if (config.data.verification === undefined && config.data.labeled === undefined && synthetic.pairs < PROTOCOL_FOLDS)
    problems.add(["data", "synthetic", "pairs"], `must be at least ${PROTOCOL_FOLDS}, one per fold of the protocol`);
  if (d1Size !== undefined) checkDataSizes(problems, config, d1Size, d2Size);
  problems.throwIfAny("refo config");
  // every undefined size came with a problem
  return { numClasses: numClasses!, d1Size: d1Size!, d2Size: d2Size! };
}
