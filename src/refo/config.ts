// The configuration of a ReFO run (one YAML file), validated with zod so that a wrong value is an error naming its
// key. Every key has a default: an empty config is the built-in demo on synthetic data, sized for a 2-core CPU.
import { z } from "zod";
import { optimizerSchema, parseConfig, scheduleSchema, strict } from "../train/config-schema.js";

const positiveInt = z.number().int().positive();

/** How one model is built and trained. */
const trainable = (defaults: { model: string; steps: number; lr: number }) =>
  strict({
    /** A registered model name (see `facekd models`), such as `iresnet50` or `mbf-w0.5@56`. */
    model: z.string().min(1).default(defaults.model),
    steps: positiveInt.default(defaults.steps),
    batchSize: positiveInt.default(64),
    optimizer: optimizerSchema.default({ type: "sgd", lr: defaults.lr, weightDecay: 5e-4 }),
    schedule: scheduleSchema.default({ type: "polynomial" }),
    clipGradNorm: z.number().positive().default(5),
  });

const syntheticData = strict({
  identities: positiveInt.default(200),
  imagesPerIdentity: positiveInt.default(24),
  unlabeledIdentities: positiveInt.default(200),
  unlabeledImagesPerIdentity: positiveInt.default(24),
  pairs: positiveInt.default(2000),
  testIdentities: positiveInt.default(200),
  imageSize: z.number().int().min(16).default(48),
  difficulty: z.number().min(0).max(1).default(0.5),
  nuisance: z.number().nonnegative().default(1),
});

export const refoConfigSchema = strict({
  /** The run's name: its folder is `runs/<name>` unless `runDir` says otherwise. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "must be letters, digits, '.', '_' or '-'")
    .default("demo"),
  runDir: z.string().optional(),
  seed: z.number().int().nonnegative().default(0),
  /** libtorch intra-op threads for training and inference (default: the machine's cores). */
  threads: positiveInt.optional(),
  /** Decoding threads of the data loader. */
  workers: z.number().int().nonnegative().default(1),
  checkpointEvery: positiveInt.default(50),
  data: z
    .strictObject({
      /** Generate the built-in synthetic dataset into the run folder (ignored when `labeled` is given). */
      synthetic: syntheticData.prefault({}),
      /** D1: the labeled training set (.rec, list file or identity folders). */
      labeled: z.string().optional(),
      /** D2: the set feature-only distillation runs on, labels unused (default: D1). */
      unlabeled: z.string().optional(),
      /** Verification packs (.bin) to evaluate every model on (default: the synthetic pairs). */
      verification: z.array(z.string()).optional(),
    })
    .prefault({}),
  embeddingSize: positiveInt.default(128),
  /** The margin softmax of every classification stage. */
  margin: z
    .strictObject({
      name: z.enum(["arcface", "cosface", "normface", "combined"]).default("arcface"),
      s: z.number().positive().default(32),
      m: z.number().nonnegative().default(0.5),
    })
    .prefault({}),
  teacher: trainable({ model: "iresnet18-w0.25@48", steps: 300, lr: 0.1 })
    .extend({
      /** A trained teacher (arcface_torch .pth or our safetensors): used as the standard teacher instead of training
       *  one, and the start of the tailored teachers' training. */
      pretrained: z.string().optional(),
    })
    .prefault({}),
  student: trainable({ model: "mbf-w0.25@48", steps: 300, lr: 0.1 }).prefault({}),
  /** Reverse distillation (step 3) and feature-only distillation (step 5). */
  refo: z
    .strictObject({
      /** Distill L2-normalized embeddings (beta1 = 0.5) or raw ones (beta1 = 0.001). */
      normalized: z.boolean().default(true),
      beta1: z.number().nonnegative().optional(),
      beta2: z.number().positive().default(5),
    })
    .prefault({}),
  /** ReFO+: the teacher tailored to a student proxy instead of S'. */
  refoPlus: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** wider (default: it measured best on the demo): a student of twice the width trained with labels
       *  (`widerModel`); fo-standard: a student first feature-distilled from the standard teacher; student: S' itself
       *  (which makes ReFO+ the same as ReFO). */
      proxy: z.enum(["wider", "fo-standard", "student"]).default("wider"),
      widerModel: z.string().optional(),
    })
    .prefault({}),
  /** Baselines besides the standard teacher and the labels-only student (always trained). */
  baselines: z
    .array(
      z.enum([
        "fo-standard",
        "kd",
        "th-kd",
        "sh-kd",
        "ekd",
        "qud",
        "adadistill",
        "margin-distillation",
        "crd",
        "pkt",
        "dkd",
      ]),
    )
    .default(["fo-standard"]),
  evaluation: z
    .strictObject({
      flipSum: z.boolean().default(true),
      batchSize: positiveInt.default(128),
      /** Samples of D1 whose embeddings give every model's intrinsic dimension (TwoNN, 20 subsets of 90%). */
      idSample: positiveInt.default(2000),
      idRepetitions: positiveInt.default(20),
    })
    .prefault({}),
});

export type RefoConfigInput = z.input<typeof refoConfigSchema>;
export type RefoConfig = z.output<typeof refoConfigSchema>;

/** Every default filled in, or an error naming each bad key. */
export function resolveRefoConfig(input: unknown): RefoConfig {
  return parseConfig(refoConfigSchema, input ?? {}, "refo config");
}
