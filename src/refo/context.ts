// What every stage of a run reads: the resolved config, the run's datasets and where each stage keeps its outputs.
import type { ProcessGroup } from "../torch/distributed.js";
import { basename, join } from "node:path";
import { Backbone, loadBackbone, OnnxTeacher } from "../models/index.js";
import type { EmbeddingModel } from "../infer/index.js";
import type { RefoConfig } from "./config.js";
import type { TrainListener } from "../train/index.js";
import type { DatasetRole, Stage } from "./plan.js";
import type { StageFolders } from "./stage-state.js";

export interface VerificationSet {
  /** The set's name in tables and results: the pack's file name without `.bin`. */
  name: string;
  path: string;
}

export interface RunPaths {
  runDir: string;
  /** Where the synthetic dataset is generated. */
  dataDir: string;
  d1: string;
  d2: string;
  verification: VerificationSet[];
  /** The synthetic ID set every model's TwoNN ID is measured on, or null: a sample of D1. */
  idSet: string | null;
  /** The IJB release folder every model is evaluated on, or null. */
  ijb: string | null;
}

export interface StageContext {
  config: RefoConfig;
  paths: RunPaths;
  folders: StageFolders;
  numClasses: number;
  log: (line: string) => void;
  /** The training stages' progress display (default: a line per log interval through `log`). */
  trainProgress?: () => { listener: TrainListener; log: (line: string) => void };
  /** A progress display for other long work (embedding a dataset). */
  progress: (label: string) => { update(done: number, total: number): void; stop(): void };
  /** The ranks of a data-parallel run: training, embedding and evaluation stages share their work, rank 0 runs the
   *  rest. */
  group?: ProcessGroup;
}

/** The collective option of the functions a stage shares among the run's ranks (none on one process). */
export const groupOption = (ctx: StageContext): { group?: ProcessGroup } => (ctx.group ? { group: ctx.group } : {});

/** The datasets of `config` in `runDir` (external paths as given, the synthetic ones inside the run folder). */
export function runPaths(config: RefoConfig, runDir: string): RunPaths {
  const dataDir = join(runDir, "data");
  const { labeled, unlabeled, verification, align } = config.data;
  const [d1, d2] =
    labeled === undefined
      ? [join(dataDir, "train", "train.rec"), join(dataDir, "unlabeled", "unlabeled.rec")]
      : align
        ? [alignedPath(dataDir, "labeled"), unlabeled !== undefined ? alignedPath(dataDir, "unlabeled") : null]
        : [labeled, unlabeled ?? null];
  const packs = verification ?? (labeled === undefined ? [join(dataDir, "pairs.bin")] : []);
  return {
    runDir,
    dataDir,
    d1,
    d2: d2 ?? d1,
    verification: packs.map((path) => ({
      name: labeled === undefined && verification === undefined ? "synthetic-pairs" : basename(path, ".bin"),
      path,
    })),
    idSet: idSetIdentities(config) > 0 ? join(dataDir, "idset", "idset.rec") : null,
    ijb: config.evaluation.ijb?.path ?? null,
  };
}

/** The identities (one photo each) of the run's synthetic ID set: 0 when it has none (its own data, or none asked). */
export const idSetIdentities = (config: RefoConfig): number =>
  config.data.labeled === undefined ? config.data.synthetic.idIdentities : 0;

/** Where the data stage writes the aligned faces of `data.labeled` or `data.unlabeled`: a folder each, since a
 *  pack's `property` file (its identity count) sits beside it under that fixed name. */
export const alignedPath = (dataDir: string, set: "labeled" | "unlabeled"): string =>
  join(dataDir, "aligned", set, `${set}.rec`);

/** A model of the run by architecture name: every model of a run has the run's embedding size. */
export const runModel = (ctx: StageContext, name: string) => ({
  name,
  options: { embeddingSize: ctx.config.embeddingSize },
});

/** A model of the run loaded from a checkpoint, on the run's device. */
export function loadRunModel(ctx: StageContext, name: string, file: string): Backbone {
  const model = loadBackbone(name, file, runModel(ctx, name).options);
  return ctx.config.device === "cpu" ? model : model.to({ device: ctx.config.device });
}

/** The model `stage` made: its checkpoint in libtorch, or an ONNX teacher as it is. Free it with releaseModel. */
export async function openStageModel(ctx: StageContext, stage: Stage): Promise<EmbeddingModel> {
  const { spec } = stage;
  if (spec.kind === "onnx") return OnnxTeacher.open(spec.file, spec.input);
  if (!("model" in spec)) throw new Error(`stage ${stage.id} does not make a model`);
  return loadRunModel(ctx, spec.model.architecture, modelFile(ctx, stage.id));
}

export const releaseModel = async (model: EmbeddingModel): Promise<void> =>
  model instanceof Backbone ? model.dispose() : model.close();

export const datasetPath = (paths: RunPaths, data: DatasetRole): string => (data === "d1" ? paths.d1 : paths.d2);

export const modelFile = (ctx: StageContext, stage: string): string =>
  join(ctx.folders.dir(stage), "model.safetensors");
export const headFile = (ctx: StageContext, stage: string): string => join(ctx.folders.dir(stage), "head.safetensors");
export const embeddingsFile = (ctx: StageContext, stage: string): string =>
  join(ctx.folders.dir(stage), "embeddings.npy");
export const evaluationFile = (ctx: StageContext, stage: string): string => join(ctx.folders.dir(stage), "eval.json");
