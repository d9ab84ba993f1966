// The results of a `facekd refo` run, as written to `runs/<name>/results.json` and read by the report: one zod
// schema, from which the types come and with which the file is validated when read.
import { z } from "zod";

// results.json is written by io's toJson, which stores non-finite numbers as strings
const num = z.union([z.number(), z.enum(["Infinity", "-Infinity", "NaN"]).transform(Number)], {
  error: (issue) => `expected a number, got ${JSON.stringify(issue.input)}`,
});

/** A 95% interval (absent in results of older runs). */
const intervalSchema = z.object({ low: num, high: num, level: num });

/** One verification set's results for one model (the insightface 10-fold pair protocol). */
const verificationSchema = z.object({
  /** Mean 10-fold accuracy, 0..1, and its std over the folds. */
  accuracy: num,
  accuracyStd: num,
  /** The mean accuracy's Student-t interval over the folds (absent in results of older runs). */
  accuracyInterval: intervalSchema.optional(),
  auc: num,
  eer: num,
  /** null: not enough impostor pairs for that FAR. */
  tarAtFar: z.array(z.object({ far: num, tar: num.nullable() })),
  /** Operating points, far ascending (may be ~2000 points). */
  roc: z
    .object({ far: z.array(num), tar: z.array(num) })
    .refine((r) => r.far.length === r.tar.length, "far and tar must have the same length"),
});

/** One model's results on an IJB-B/C release (the template protocol: no folds, no accuracy). */
const ijbSchema = verificationSchema.omit({ accuracy: true, accuracyStd: true, accuracyInterval: true }).extend({
  /** "IJBC" or "IJBB". */
  target: z.string(),
  faces: num,
  templates: num,
});

const modelSchema = z.object({
  /** The model's stage: "teacher-refo", "student-fo-refo", ... */
  id: z.string().min(1),
  /** "FO ← ReFO teacher (ReFO)" */
  label: z.string(),
  role: z.enum(["teacher", "student"]),
  /** "standard", "refo", "refo+", "labels-only", "fo", "kd", ..., "proxy" */
  kind: z.string(),
  /** "iresnet18-w0.25@48" */
  architecture: z.string(),
  parameters: num,
  /** Multiply-adds per image; null where not counted (an ONNX teacher). */
  flops: num.nullable(),
  /** Inference throughput measured in the run. */
  imagesPerSecond: num.nullable(),
  /** libtorch threads the evaluation (and the throughput) ran with; absent in results of older runs. */
  threads: z.number().int().positive().optional(),
  /** TwoNN on the shared sample (the synthetic ID set, else D1): the protocol's mean and std over 90% subsets, the
   *  95% interval for the sampling of the points, the sample size (flagged when too small) and the half-sample
   *  estimates that pair two models' gap; results of older runs have the mean and std only. */
  intrinsicDimension: z
    .object({
      mean: num,
      std: num,
      interval: intervalSchema.optional(),
      sampleSize: z.number().int().positive().optional(),
      smallSample: z.boolean().optional(),
      halfSampleEstimates: z.array(num).optional(),
    })
    .nullable(),
  /** By set name ("synthetic-pairs", "lfw", ...). */
  verification: z.record(z.string(), verificationSchema),
  /** The IJB-B/C release of the refo config's `evaluation.ijb`; absent or null where none was given. */
  ijb: ijbSchema.nullable().optional(),
  /** A student's distillation error Phi_gamma against its teacher (the stage id) on the D1 sample, through the
   *  teacher's classifier, by temperature gamma; null for teachers and where that teacher has no classifier. */
  distillationError: z
    .object({ teacher: z.string(), values: z.array(z.object({ gamma: num, value: num })) })
    .nullable()
    .optional(),
  /** metrics.jsonl of the model's training stage, relative to the run folder; null for models not trained here. */
  metrics: z.string().nullable(),
  /** The stage that produced it. */
  stage: z.string(),
  /** The model's ONNX export (refo config `export: [onnx]`), relative to the run folder. */
  onnx: z.string().nullable().optional(),
});

/** The results of a run, as results.json holds them. */
export const runResultsSchema = z.object({
  name: z.string(),
  /** ISO time. */
  createdAt: z.string(),
  /** "2 cores (AMD EPYC), linux x64, libtorch 1.13.0, 2 threads" */
  machine: z.string(),
  /** The engine settings every stage of this invocation ran with; absent in results of older runs. */
  engine: z.object({ libtorch: z.string(), threads: z.number(), workers: z.number() }).optional(),
  /** Each model's ID and its gap to the reference (S'), with the ID's interval and the gap's paired one (null for
   *  the reference itself; absent in results of older runs). */
  intrinsicGap: z
    .object({
      reference: z.string(),
      rows: z.array(
        z.object({
          id: z.string(),
          mean: num,
          std: num,
          interval: intervalSchema.optional(),
          gap: num,
          gapInterval: intervalSchema.nullable().optional(),
        }),
      ),
    })
    .nullable(),
  models: z.array(modelSchema),
  stages: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      status: z.enum(["done", "skipped", "failed", "pending"]),
      seconds: num.nullable(),
    }),
  ),
  /** Short findings computed by the pipeline: "FO ← ReFO ... beats FO ← standard teacher ...". */
  findings: z.array(z.string()),
  /** The resolved configuration of the run. */
  config: z.unknown(),
});

export type RunResults = z.output<typeof runResultsSchema>;
export type ModelResult = RunResults["models"][number];
export type VerificationSummary = ModelResult["verification"][string];
export type IjbSummary = NonNullable<ModelResult["ijb"]>;
export type StageResult = RunResults["stages"][number];
