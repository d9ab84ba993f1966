// The configuration of a ReFO run (one YAML file), validated with zod so that a wrong value is an error naming its
// key. Every key has a default: an empty config is the built-in demo on synthetic data, sized for a 2-core CPU.
import { z } from "zod";
import {
  deviceSchema,
  modelNameSchema,
  optimizerSchema,
  precisionSchema,
  precisionProblem,
  scheduleSchema,
} from "../train/config-schema.js";
import { parseConfig, strict } from "../config/index.js";
import { MARGIN_NAMES } from "../models/heads/index.js";
import { INFERENCE_BACKENDS } from "../infer/backend.js";
import { IJB_TARGETS, SYNTHETIC_TRAITS } from "../data/index.js";

const positiveInt = z.number().int().positive();

/** The comparisons a run can add: FO from the standard teacher, the classic KD family and the rival face-KD
 *  methods, each a student of the standard teacher (recipes/baselines.ts). */
export const RIVAL_BASELINES = ["ekd", "qud", "adadistill", "margin-distillation", "crd", "pkt", "dkd"] as const;
export const BASELINE_NAMES = ["fo-standard", "kd", "th-kd", "sh-kd", ...RIVAL_BASELINES] as const;

/** How one model is built and trained. */
const trainable = (defaults: { model: string; steps: number; lr: number }) =>
  strict({
    model: modelNameSchema
      .default(defaults.model)
      .describe("a registered model (`facekd models`), such as `iresnet50` or `mbf-w0.5@56`"),
    steps: positiveInt.default(defaults.steps).describe("training steps"),
    batchSize: positiveInt.default(64).describe("images per step"),
    optimizer: optimizerSchema
      .default({ type: "sgd", lr: defaults.lr, weightDecay: 5e-4 })
      .describe("as in `facekd train` configs"),
    schedule: scheduleSchema.default({ type: "polynomial" }).describe("learning-rate schedule"),
    clipGradNorm: z.number().positive().default(5).describe("gradient clipping at this norm"),
    idEvery: positiveInt
      .optional()
      .describe(
        "track the intrinsic dimension while training: every this many steps (and at the end) TwoNN on " +
          "`evaluation.idSample` fixed rows of the synthetic ID set, else of the stage's training data, written to " +
          "its metrics.jsonl and charted in the report (unset: off)",
      ),
  });

const syntheticData = strict({
  identities: positiveInt.default(200).describe("D1's identities"),
  imagesPerIdentity: positiveInt.default(24).describe("D1's photos per identity"),
  unlabeledIdentities: positiveInt.default(200).describe("D2's identities (others than D1's)"),
  unlabeledImagesPerIdentity: positiveInt.default(24).describe("D2's photos per identity"),
  pairs: positiveInt.default(2000).describe("verification pairs, half of them genuine"),
  testIdentities: positiveInt.default(200).describe("identities of the verification pairs"),
  imageSize: z.number().int().min(16).default(48).describe("image side in pixels"),
  difficulty: z.number().min(0).max(1).default(0.5).describe("how alike identities are, 0..1"),
  nuisance: z.number().nonnegative().default(1).describe("strength of pose, light, occlusion and noise"),
  identityDims: z
    .number()
    .int()
    .min(1)
    .max(SYNTHETIC_TRAITS.length)
    .optional()
    .describe(
      `independent directions in which identities differ (unset: ${SYNTHETIC_TRAITS.length}, one per face trait); fewer ` +
        "ties the traits to a random subspace of this dimension",
    ),
  idIdentities: z
    .number()
    .int()
    .nonnegative()
    .default(2000)
    .describe(
      "the ID set: one photo each of this many further identities, on which TwoNN measures every model, so that " +
        "nearest neighbours are mostly other people as in a 1% sample of a large training set (0: a D1 sample)",
    ),
});

/** An ONNX teacher and the input it expects (unset options: the file's metadata and static dims, else insightface's). */
const onnxTeacher = z.strictObject({
  file: z.string().describe("the .onnx file"),
  inputSize: positiveInt.optional().describe("its square input side in pixels (default: the file's, else 112)"),
  layout: z.enum(["NCHW", "NHWC"]).optional().describe("its input layout (default: as the file's dims say)"),
  color: z.enum(["RGB", "BGR"]).optional().describe("its channel order (default RGB)"),
  mean: z.number().optional().describe("its input is (pixel - mean) / std on 0..255 pixels (default 127.5)"),
  std: z.number().positive().optional().describe("see mean (default 127.5)"),
});

export const refoConfigSchema = strict({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, "must be letters, digits, '.', '_' or '-'")
    .default("demo")
    .describe("the run's name: its folder is `runs/<name>` unless `runDir` says otherwise"),
  runDir: z.string().optional().describe("the run folder"),
  seed: z.number().int().nonnegative().default(0).describe("the seed of every stage"),
  threads: positiveInt.optional().describe("libtorch threads for training and inference (default: all cores)"),
  workers: z.number().int().nonnegative().default(1).describe("decoding threads of the data loader"),
  device: deviceSchema.describe("where every stage's models run: cpu, cuda or cuda:N (a CUDA build of libtorch)"),
  precision: precisionSchema.describe(
    "the training stages' mixed precision (weights stay float32): float32, bfloat16 (cpu or cuda), float16 (cuda, " +
      "with dynamic loss scaling)",
  ),
  syncBatchNorm: z
    .boolean()
    .default(false)
    .describe(
      "with --nproc: the training stages' BatchNorm uses the global batch's statistics (PyTorch's SyncBatchNorm) " +
        "instead of each rank's",
    ),
  checkpointEvery: positiveInt.default(50).describe("training steps between checkpoints"),
  fingerprint: z
    .enum(["sampled", "full"])
    .default("sampled")
    .describe(
      "how inputs and stage outputs are checksummed: sampled (files above 64 MiB by their size and 64 blocks of " +
        "1 MiB, plus the mtime for inputs; input folders by file names, sizes and mtimes) or full (every byte, at " +
        "every start of the run)",
    ),
  data: z
    .strictObject({
      synthetic: syntheticData.prefault({}).describe("the built-in synthetic dataset (without `labeled`)"),
      labeled: z.string().optional().describe("D1: the labeled training set (.rec, list file or identity folders)"),
      unlabeled: z.string().optional().describe("D2: the set FO distillation runs on, labels unused (default: D1)"),
      verification: z
        .array(z.string())
        .optional()
        .describe("`.bin` packs every model is evaluated on (default: the synthetic pairs)"),
      align: z
        .boolean()
        .default(false)
        .describe(
          "`labeled` and `unlabeled` are folders of raw photos (`labeled`: one subfolder per identity, one person " +
            "per photo): the data stage detects their faces and aligns them to the arcface template, as " +
            "`facekd data align`, into 112x112 packs in the run folder, once",
        ),
      alignment: strict({
        minFace: positiveInt.default(32).describe("skip faces whose box is smaller, in pixels"),
        maxFaces: positiveInt
          .optional()
          .describe("D2: keep at most the n largest faces of a photo (D1 keeps the largest; default: all)"),
        workers: positiveInt.optional().describe("detection threads (default: `threads`, else all cores)"),
      })
        .prefault({})
        .describe("how `align` detects and crops"),
    })
    .prefault({}),
  embeddingSize: positiveInt.default(128).describe("one size for every model (ReFO compares embeddings directly)"),
  margin: z
    .strictObject({
      name: z.enum(MARGIN_NAMES).default("arcface").describe("the margin softmax of every classification stage"),
      s: z.number().positive().default(32).describe("its scale"),
      m: z.number().nonnegative().default(0.5).describe("its margin"),
    })
    .prefault({}),
  teacher: trainable({ model: "iresnet18-w0.25@48", steps: 300, lr: 0.1 })
    .extend({
      pretrained: z
        .string()
        .optional()
        .describe(
          "a trained teacher of `teacher.model`'s architecture (arcface_torch `.pth`, `.safetensors`, or an `.onnx` " +
            "export facekd imports): the standard teacher, and where the tailored teachers start",
        ),
      onnx: onnxTeacher
        .optional()
        .describe(
          "an ONNX embedding model of any architecture as the standard teacher, run by onnxruntime: feature-only " +
            "distillation (fo-standard, qud) only; the stages that train or run the teacher in libtorch (ReFO, " +
            "ReFO+, kd, ...) need `pretrained` instead",
        ),
    })
    .prefault({}),
  student: trainable({ model: "mbf-w0.25@48", steps: 300, lr: 0.1 }).prefault({}),
  refo: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe("ReFO: the teacher tailored to S' (step 3) and its student; false keeps the baselines only"),
      normalized: z
        .boolean()
        .default(true)
        .describe("distill L2-normalized embeddings (beta1 = 0.5) or raw ones (beta1 = 0.001)"),
      beta1: z.number().nonnegative().optional().describe("reverse distillation's weight (0.5 normalized, 0.001 raw)"),
      beta2: z.number().positive().default(5).describe("feature-only distillation's weight"),
    })
    .prefault({}),
  refoPlus: z
    .strictObject({
      enabled: z.boolean().default(true).describe("ReFO+: the teacher tailored to a student proxy instead of S'"),
      proxy: z
        .enum(["wider", "fo-standard", "student"])
        .default("wider")
        .describe(
          "wider: a student of twice the width trained with labels; fo-standard: a student feature-distilled from " +
            "the standard teacher; student: S' (ReFO+ = ReFO)",
        ),
      widerModel: modelNameSchema
        .optional()
        .describe("the wider proxy's model (default: the student at twice its width)"),
    })
    .prefault({}),
  baselines: z
    .array(z.enum(BASELINE_NAMES))
    .default(["fo-standard"])
    .describe("baselines besides the standard teacher and the labels-only student"),
  evaluation: z
    .strictObject({
      flipSum: z.boolean().default(true).describe("insightface's flip-sum test embeddings"),
      batchSize: positiveInt.default(128).describe("inference batch"),
      idSample: positiveInt
        .default(2000)
        .describe("samples whose embeddings give each model's TwoNN ID: of the synthetic ID set if any, else of D1"),
      idRepetitions: positiveInt.default(20).describe("90% subsets of the ID protocol"),
      backend: z
        .enum(INFERENCE_BACKENDS)
        .default("auto")
        .describe(
          "where embeddings and throughput are computed: onnxruntime on the model's in-memory ONNX export, " +
            "libtorch, or auto (libtorch from batch 32 on, onnxruntime below it; speeds in bench/README.md)",
        ),
      ijb: z
        .strictObject({
          path: z
            .string()
            .describe(
              "an IJB-B/C release every model is also evaluated on (IJB_release/IJBC or /IJBB: meta/ and " +
                "loose_crop/): TAR at FAR 1e-6..1e-1 of the template pairs, in results.json and the report",
            ),
          target: z.enum(IJB_TARGETS).default("IJBC").describe("which meta files of the folder to read"),
          qualityWeight: z
            .boolean()
            .default(true)
            .describe("weight each face by its detector score when pooling (as insightface's eval_ijbc.py)"),
        })
        .optional()
        .describe("an IJB-B/C release (the ReFO paper's headline figure is IJB-C TAR@FAR=1e-4)"),
    })
    .prefault({}),
  sweep: z
    .record(
      z.string().regex(/^[A-Za-z]\w*(\.[A-Za-z]\w*)*$/, "must be a dotted config key such as `refo.beta1`"),
      z.array(z.union([z.number(), z.string(), z.boolean()])).min(1),
    )
    .optional()
    .describe(
      "a grid of runs in one folder: `key: [values]` for any config keys (`seed: [0, 1, 2]`, `refo.beta1: [0.1, " +
        "1]`); a stage alike at several grid points runs once; results give each point's mean and 95% CI over `seed`",
    ),
  export: z
    .array(z.enum(["onnx"]))
    .default([])
    .describe(
      "files each final student is also written as, into its stage folder and linked from the report: `onnx` " +
        "(`student.onnx`, BatchNorm folded, for onnxruntime, TensorRT, OpenVINO)",
    ),
}).superRefine((config, ctx) => {
  const problem = precisionProblem(config);
  if (problem !== null) ctx.addIssue({ code: "custom", path: ["precision"], message: problem });
  if (config.data.align && config.data.labeled === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["data", "align"],
      message:
        "is set without data.labeled: name the folder of photos to align (one subfolder per identity), and " +
        "data.unlabeled for D2",
    });
  }
  if (config.data.align && config.baselines.includes("crd")) {
    ctx.addIssue({
      code: "custom",
      path: ["baselines"],
      message:
        "lists crd, whose memory banks need D1's exact size, which data.align knows only after aligning: align D1 first " +
        "(`facekd data align <photos> d1/d1.rec --labels subfolder --max-faces 1`) and name the pack as data.labeled",
    });
  }
});

/** The run makes its data (the synthetic set, or the aligned photos) in its data stage. */
export const makesData = (config: RefoConfig): boolean => config.data.labeled === undefined || config.data.align;

export type RefoConfigInput = z.input<typeof refoConfigSchema>;
export type RefoConfig = z.output<typeof refoConfigSchema>;

/** Every default filled in, or an error naming each bad key. */
export function resolveRefoConfig(input: unknown): RefoConfig {
  return parseConfig(refoConfigSchema, input ?? {}, "refo config");
}
