// The training config's schema (zod): every key, its type, default and range, the single source of the config's
// types (config.ts) and of its checks. Objects are strict, so a misspelled key is an error listing the allowed ones.
import { z } from "zod";
import { strict } from "../config/index.js";
import { resolveSpec } from "../models/index.js";

const positiveInt = z.number().int().positive();
const roleSchema = z.enum(["student", "teacher"]);
/** Keys of the two roles' entries, either may be left out. */
const byRole = <T extends z.ZodType>(value: T) => strict({ student: value.optional(), teacher: value.optional() });

/** A registered model name (`mbf`, `iresnet18-w0.25@56`): an unknown one is an error at its key, before training. */
export const modelNameSchema = z
  .string({ error: "must name a registered model, such as 'mbf'" })
  .superRefine((name, ctx) => {
    try {
      resolveSpec(name);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `${(error as Error).message} (\`facekd models\` lists them)` });
    }
  });

/** Above this, every step of face-recognition training overflows (arcface_torch uses 0.1 with SGD). */
const MAX_LR = 10;
const unitInterval = z.number().min(0).lt(1);

export const deviceSchema = z
  .string()
  .regex(/^(cpu|cuda(:\d+)?)$/, "must be 'cpu', 'cuda' or 'cuda:N'")
  .default("cpu");
export const precisionSchema = z.enum(["float32", "bfloat16", "float16"]).default("float32");

/** float16 autocast exists for CUDA only (libtorch's CPU autocast is bfloat16), or null. */
export function precisionProblem(config: { precision: string; device: string }): string | null {
  return config.precision === "float16" && config.device === "cpu"
    ? "float16 needs a CUDA device (device: cuda); on cpu use precision: bfloat16"
    : null;
}

export const optimizerSchema = strict({
  type: z.enum(["sgd", "adamw"]),
  lr: z
    .number()
    .min(0)
    .max(MAX_LR, {
      error: (issue) =>
        `must be <= ${MAX_LR}, got ${String(issue.input)}: a learning rate this large makes every step non-finite`,
    }),
  weightDecay: z.number().min(0).optional(),
  /** SGD only (default 0.9). */
  momentum: unitInterval.optional(),
  nesterov: z.boolean().optional(),
  /** AdamW only. */
  betas: z.tuple([unitInterval, unitInterval]).optional(),
});

export const scheduleSchema = strict({
  /** constant, polynomial (arcface_torch's decay to 0, default), cosine (to 0), multistep. */
  type: z.enum(["constant", "polynomial", "cosine", "multistep"]),
  /** polynomial: the exponent (1). */
  power: z.number().positive().optional(),
  /** multistep: the steps at which lr is multiplied by gamma (0.1). */
  milestones: z.array(z.number().int().min(0)).optional(),
  gamma: z.number().positive().optional(),
  /** Linear warmup from 0 over this many steps before the schedule (0). */
  warmupSteps: z.number().int().min(0).optional(),
});

export const dataSchema = strict({
  /** A dataset openDataset() reads: a .rec pack, a list file or an image folder. */
  path: z.string({ error: "must name a dataset (.rec, list file or folder)" }),
  shuffle: z.boolean().optional(),
  /** Random horizontal flips (true). */
  flip: z.boolean().optional(),
  /** Decoding threads (2); 0 decodes in the main thread. */
  workers: z.number().int().min(0).optional(),
  /** Decode with libjpeg's strict checks, so that damaged JPEG data stops the run naming its record (false). */
  strictDecode: z.boolean().optional(),
  /** Log and skip unreadable records instead of stopping (false). */
  skipCorrupt: z.boolean().optional(),
});

/** createModel's options; their ranges are checked where the model is built. */
const backboneOptionsSchema = strict({
  embeddingSize: z.number().optional(),
  widthMultiplier: z.number().optional(),
  inputSize: z.number().optional(),
  dropout: z.number().optional(),
});

const modelShape = {
  /** A registered model name, such as `mbf` or `iresnet18-w0.25@56`. */
  name: modelNameSchema,
  options: backboneOptionsSchema.optional(),
  /** A checkpoint (safetensors or .pth) to start from instead of a fresh initialization. */
  init: z.string().optional(),
};
export const modelSchema = strict(modelShape);

/** One term of the objective, as combineLosses() takes it (which checks names and options). */
const lossSchema = strict({
  name: z.string(),
  weight: z.number().optional(),
  label: z.string().optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});

const classifierSchema = strict({
  path: z.string(),
  key: z.string().optional(),
  scale: z.number().positive().optional(),
});

export const trainConfigSchema = strict({
  /** The run folder: config.json, metrics.jsonl, checkpoints/, model.safetensors. */
  runDir: z.string({ error: "must name the run folder" }).min(1, "must name the run folder"),
  model: modelSchema,
  /** The trained model's role in the losses' context (student); `teacher` for ReFO's reverse distillation. */
  role: roleSchema.default("student"),
  losses: z.array(lossSchema).min(1, "must list at least one loss"),
  data: dataSchema,
  /** Embeddings precomputed over the same dataset, in its order (.npy float32 [N, D]), by the role of their model. */
  precomputed: byRole(z.string()).optional(),
  /**
   * Frozen classifiers from finished runs (their head.safetensors), by the role of the model that owns them: the
   * teacher's (KD and TH-KD with a live teacher) or the student's (SH-KD, while training the teacher). `key` picks
   * the [classes, D] tensor when the file holds several; `scale` is s of the logits s * cos(f, w) (64).
   */
  classifiers: byRole(classifierSchema).optional(),
  /** A frozen teacher run on every batch (offline distillation with a live teacher); only when role is student. */
  teacher: strict({ ...modelShape, init: z.string({ error: "must name the teacher's checkpoint" }) }).optional(),
  optimizer: optimizerSchema,
  schedule: scheduleSchema.default({ type: "polynomial" }),
  /** The length of the run: steps, or epochs over the dataset (one of the two). */
  steps: positiveInt.optional(),
  epochs: positiveInt.optional(),
  batchSize: positiveInt,
  /** Clip the gradients' global L2 norm to this value (arcface_torch: 5); unset: no clipping. */
  clipGradNorm: z.number().positive().optional(),
  seed: z.number().int().min(0).default(0),
  /** libtorch intra-op threads (unset: leave libtorch's setting). */
  threads: positiveInt.optional(),
  memoryFormat: z.enum(["channels_last", "contiguous"]).default("channels_last"),
  /**
   * Data-parallel runs: BatchNorm normalizes with the statistics of the global batch (every rank's samples, PyTorch's
   * SyncBatchNorm) instead of each rank's own (DDP's default, and arcface_torch's); costs two small all-gathers per
   * BatchNorm layer in forward and in backward. No effect on one process.
   */
  syncBatchNorm: z.boolean().default(false),
  /**
   * On several processes, start each bucket's gradient all_reduce during the backward pass, as soon as its last
   * gradient is accumulated (DistributedDataParallel's overlap), instead of after it. Off by default: on one
   * machine's CPUs Gloo's thread competes with the backward pass for the cores (bench/README.md, `distributed`:
   * iresnet18 on 2 cores trained 10-15% slower with it); it pays where the network bounds the all_reduce.
   */
  overlapGradients: z.boolean().default(false),
  device: deviceSchema.describe("Where the models, heads and batches live: cpu, cuda or cuda:N (a CUDA libtorch)."),
  precision: precisionSchema.describe(
    "Mixed precision: the forward pass and losses under autocast in this dtype, weights kept float32. " +
      "bfloat16 on cpu or cuda; float16 on cuda only, with dynamic loss scaling.",
  ),
  /** Write a checkpoint every this many steps (and always at the end). */
  checkpointEvery: positiveInt.default(1000),
  /** Log metrics every this many steps. */
  logEvery: positiveInt.default(10),
  /** Stop after this many consecutive steps with a non-finite loss or gradient. */
  maxBadSteps: positiveInt.default(5),
  /** Extra records in metrics.jsonl. */
  metrics: strict({
    /** The intrinsic dimension (TwoNN) of a fixed sample of the training data every this many steps (and at the
     *  end), embedded in eval mode: `{ step, id: { mean, std, low, high, ... } }` records. Unset: never. */
    idEvery: positiveInt.optional(),
    /** The rows of that sample, drawn with the run's seed (default 1000; all rows when the data has fewer). */
    idSample: z.number().int().min(20).default(1000),
    /** A dataset to draw that sample from instead of the training data (a refo run's synthetic ID set). */
    idData: z.string().optional(),
  }).optional(),
}).superRefine((config, ctx) => {
  if (config.steps === undefined && config.epochs === undefined) {
    ctx.addIssue({ code: "custom", path: ["steps"], message: "is required (or epochs instead): the run's length" });
  }
  if (config.steps !== undefined && config.epochs !== undefined) {
    ctx.addIssue({ code: "custom", path: ["epochs"], message: "cannot be set together with steps: keep one of them" });
  }
  const precision = precisionProblem(config);
  if (precision !== null) ctx.addIssue({ code: "custom", path: ["precision"], message: precision });
  if (config.teacher !== undefined && config.role !== "student") {
    ctx.addIssue({ code: "custom", path: ["teacher"], message: "is only for training a student (role is teacher)" });
  }
});
