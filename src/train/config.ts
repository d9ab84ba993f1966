// A training run as plain, JSON-serializable data (written to the run folder as config.json), its defaults, and
// the checks that turn a wrong value into an error naming the key.
import type { LossSpec, Role } from "../distill/index.js";
import type { BackboneOptions } from "../models/index.js";

export interface OptimizerConfig {
  type: "sgd" | "adamw";
  lr: number;
  weightDecay?: number;
  /** SGD only (default 0.9). */
  momentum?: number;
  nesterov?: boolean;
  /** AdamW only. */
  betas?: [number, number];
}

export interface ScheduleConfig {
  /** constant, polynomial (arcface_torch's decay to 0, default), cosine (to 0), multistep. */
  type: "constant" | "polynomial" | "cosine" | "multistep";
  /** polynomial: the exponent (1). */
  power?: number;
  /** multistep: the steps at which lr is multiplied by gamma (0.1). */
  milestones?: number[];
  gamma?: number;
  /** Linear warmup from 0 over this many steps before the schedule (0). */
  warmupSteps?: number;
}

export interface DataConfig {
  /** A dataset openDataset() reads: a .rec pack, a list file or an image folder. */
  path: string;
  shuffle?: boolean;
  /** Random horizontal flips (true). */
  flip?: boolean;
  /** Decoding threads (2); 0 decodes in the main thread. */
  workers?: number;
}

export interface ModelConfig {
  /** A registered model name, such as `mbf` or `iresnet18-w0.25@56`. */
  name: string;
  options?: BackboneOptions;
  /** A checkpoint (safetensors or .pth) to start from instead of a fresh initialization. */
  init?: string;
}

export interface TrainConfig {
  /** The run folder: config.json, metrics.jsonl, checkpoints/, model.safetensors. */
  runDir: string;
  model: ModelConfig;
  /** The trained model's role in the losses' context (student); `teacher` for ReFO's reverse distillation. */
  role?: Role;
  losses: LossSpec[];
  data: DataConfig;
  /** Embeddings precomputed over the same dataset, in its order (.npy float32 [N, D]), by the role of their model. */
  precomputed?: Partial<Record<Role, string>>;
  /** A frozen teacher run on every batch (offline distillation with a live teacher); only when role is student. */
  teacher?: ModelConfig & { init: string };
  optimizer: OptimizerConfig;
  schedule?: ScheduleConfig;
  /** The length of the run: steps, or epochs over the dataset (one of the two). */
  steps?: number;
  epochs?: number;
  batchSize: number;
  /** Clip the gradients' global L2 norm to this value (arcface_torch: 5); unset: no clipping. */
  clipGradNorm?: number;
  seed?: number;
  /** libtorch intra-op threads (unset: leave libtorch's setting). */
  threads?: number;
  memoryFormat?: "channels_last" | "contiguous";
  /** Write a checkpoint every this many steps (and always at the end). */
  checkpointEvery?: number;
  /** Log metrics every this many steps (10). */
  logEvery?: number;
  /** Stop after this many consecutive steps with a non-finite loss or gradient (5). */
  maxBadSteps?: number;
}

export type ResolvedTrainConfig = Required<
  Omit<TrainConfig, "precomputed" | "teacher" | "clipGradNorm" | "threads" | "steps" | "epochs">
> &
  Pick<TrainConfig, "precomputed" | "teacher" | "clipGradNorm" | "threads" | "steps" | "epochs">;

/** `config` with every default filled in, or an error naming the first bad key. */
export function resolveConfig(config: TrainConfig): ResolvedTrainConfig {
  const bad = (key: string, what: string): never => {
    throw new RangeError(`train config: ${key} ${what}`);
  };
  const positiveInt = (key: string, v: number | undefined): void => {
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) bad(key, `must be a positive integer, got ${v}`);
  };
  if (typeof config.runDir !== "string" || config.runDir === "") bad("runDir", "must name the run folder");
  if (typeof config.model?.name !== "string") bad("model.name", "must name a registered model, such as 'mbf'");
  if (!Array.isArray(config.losses) || config.losses.length === 0) bad("losses", "must list at least one loss");
  if (typeof config.data?.path !== "string") bad("data.path", "must name a dataset (.rec, list file or folder)");
  if ((config.steps === undefined) === (config.epochs === undefined)) bad("steps/epochs", "set exactly one of them");
  positiveInt("steps", config.steps);
  positiveInt("epochs", config.epochs);
  positiveInt("batchSize", config.batchSize);
  positiveInt("threads", config.threads);
  positiveInt("checkpointEvery", config.checkpointEvery);
  positiveInt("logEvery", config.logEvery);
  positiveInt("maxBadSteps", config.maxBadSteps);
  if (!["sgd", "adamw"].includes(config.optimizer?.type)) bad("optimizer.type", "must be 'sgd' or 'adamw'");
  if (!(config.optimizer.lr >= 0)) bad("optimizer.lr", `must be a number >= 0, got ${config.optimizer.lr}`);
  if (config.clipGradNorm !== undefined && !(config.clipGradNorm > 0)) bad("clipGradNorm", "must be > 0 (or unset)");
  if (config.seed !== undefined && !(Number.isSafeInteger(config.seed) && config.seed >= 0)) {
    bad("seed", `must be a non-negative integer, got ${config.seed}`);
  }
  const role = config.role ?? "student";
  if (role !== "student" && role !== "teacher") bad("role", `must be 'student' or 'teacher', got ${String(role)}`);
  if (config.teacher !== undefined && role !== "student") bad("teacher", "is only for training a student");
  const memoryFormat = config.memoryFormat ?? "channels_last";
  if (memoryFormat !== "channels_last" && memoryFormat !== "contiguous") {
    bad("memoryFormat", `must be 'channels_last' or 'contiguous', got ${String(memoryFormat)}`);
  }
  const schedule = config.schedule ?? { type: "polynomial" };
  if (!["constant", "polynomial", "cosine", "multistep"].includes(schedule.type)) {
    bad("schedule.type", "must be constant, polynomial, cosine or multistep");
  }
  if (schedule.warmupSteps !== undefined && !(Number.isInteger(schedule.warmupSteps) && schedule.warmupSteps >= 0)) {
    bad("schedule.warmupSteps", "must be a non-negative integer");
  }
  return {
    ...config,
    role,
    schedule,
    memoryFormat,
    seed: config.seed ?? 0,
    checkpointEvery: config.checkpointEvery ?? 1000,
    logEvery: config.logEvery ?? 10,
    maxBadSteps: config.maxBadSteps ?? 5,
  };
}
