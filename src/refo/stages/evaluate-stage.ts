// One model's numbers for the results table: size, inference speed, the pair protocol on each verification set,
// the template protocol on an IJB-B/C release when the config names one, the intrinsic dimension (TwoNN) of its
// embeddings of the ID set (else of a fixed D1 sample, the same for every model) and, for a student, its
// distillation error Phi_gamma against its teacher on the D1 sample (eval/distillation-error.ts).
// In a data-parallel run every rank runs this stage: each embeds its share of every set and searches its share of
// the TwoNN neighbours; rank 0 alone times the model, exports it and writes the results.
import { join } from "node:path";
import * as torch from "../../torch/index.js";
import { Rng, openDataset } from "../../data/index.js";
import { Backbone, describeBuilt, exportOnnx } from "../../models/index.js";
import { distillationError, type PairProtocolResult } from "../../eval/index.js";
import {
  embedImages,
  evaluateIjb,
  inferenceSpeed,
  verifyModelOnPack,
  withInferenceModel,
  type EmbeddingModel,
} from "../../infer/index.js";
import { intrinsicDimension, meanInterval, PROPORTION, sampleIndices } from "../../analysis/index.js";
import { writeJson } from "../../io/index.js";
import type { IjbSummary, ModelResult, VerificationSummary } from "../../report/index.js";
import { loadClassifier } from "../../train/index.js";
import {
  evaluationFile,
  groupOption,
  headFile,
  loadRunModel,
  modelFile,
  openStageModel,
  releaseModel,
  type StageContext,
} from "../context.js";
import type { DistillationTeacher, Stage, StageSpec } from "../plan.js";

/** eval.json: a model's row of the results, without the run-level fields. */
export type ModelEvaluation = Omit<ModelResult, "metrics" | "stage">;

/** The mean accuracy's 95% Student-t interval over the protocol's folds. */
function foldInterval(accuracies: readonly number[]): VerificationSummary["accuracyInterval"] {
  const { low, high, level } = meanInterval(accuracies, 0.95, PROPORTION);
  return low === null || high === null ? undefined : { low, high, level };
}

function summarize(result: PairProtocolResult): VerificationSummary {
  return {
    accuracy: result.accuracy,
    accuracyStd: result.accuracyStd,
    accuracyInterval: foldInterval(result.foldAccuracies),
    auc: result.roc.auc,
    eer: result.roc.eer,
    tarAtFar: result.roc.tarAtFar.map(({ far, tar }) => ({ far, tar })),
    roc: { far: result.roc.curve.far, tar: result.roc.curve.tar },
  };
}

/** The model on the config's IJB release (evaluation.ijb), or null when it names none. */
async function ijbOnRelease(ctx: StageContext, model: EmbeddingModel): Promise<IjbSummary | null> {
  const { ijb, flipSum, batchSize, backend } = ctx.config.evaluation;
  if (ijb === undefined) return null;
  const bar = ctx.progress(`embedding ${ijb.target} faces`);
  try {
    const options = { target: ijb.target, qualityWeight: ijb.qualityWeight, flipSum, batchSize, backend };
    const r = await evaluateIjb(model, ijb.path, { ...options, ...groupOption(ctx), onBatch: bar.update });
    const { auc, eer, tarAtFar, curve } = r.roc;
    return {
      target: r.target,
      faces: r.faces,
      templates: r.templates,
      auc,
      eer,
      tarAtFar: tarAtFar.map(({ far, tar }) => ({ far, tar })),
      roc: { far: curve.far, tar: curve.tar },
    };
  } finally {
    bar.stop();
  }
}

interface Sample {
  images: Uint8Array[];
  classes: number[];
}

/** A fixed sample of a pack, the same for every model of the run: its images and labels. */
function fixedSample(ctx: StageContext, path: string): Sample {
  const source = openDataset(path);
  try {
    const count = Math.min(ctx.config.evaluation.idSample, source.length);
    const records = Array.from(sampleIndices(source.length, count, new Rng(ctx.config.seed)), (i) => source.read(i));
    return { images: records.map((r) => r.image), classes: records.map((r) => r.label) };
  } finally {
    source.close();
  }
}

const embedSample = (ctx: StageContext, model: EmbeddingModel, images: Uint8Array[], what = "D1 sample") =>
  embedImages(model, what, images, {
    batchSize: ctx.config.evaluation.batchSize,
    flipSum: false,
    workers: ctx.config.workers,
    backend: ctx.config.evaluation.backend,
    ...groupOption(ctx),
  });

/** `use` of the model's embeddings of the fixed sample of the pack at `path`, freed afterwards. */
async function withSampleEmbeddings<T>(
  ctx: StageContext,
  model: EmbeddingModel,
  path: string,
  what: string,
  use: (embeddings: torch.Tensor, sample: Sample) => T | Promise<T>,
): Promise<T> {
  const sample = fixedSample(ctx, path);
  const embeddings = await embedSample(ctx, model, sample.images, what);
  try {
    return await use(embeddings, sample);
  } finally {
    embeddings.dispose();
  }
}

/** The temperatures of the distillation error: 1, and the KD temperature of the kd baselines (4). */
const DISTILLATION_TEMPERATURES = [1, 4];

/** Phi_gamma of the student's embeddings of the sample against its teacher's, through the teacher's classifier. */
async function distillationErrorOnD1(
  ctx: StageContext,
  teacher: DistillationTeacher,
  student: torch.Tensor,
  images: Uint8Array[],
  classes: number[],
): Promise<NonNullable<ModelEvaluation["distillationError"]>> {
  const architecture = ctx.config.teacher.model;
  const model = loadRunModel(ctx, architecture, modelFile(ctx, teacher.stage));
  const scale = ctx.config.margin.s;
  const { weight } = loadClassifier("teacher", { path: headFile(ctx, teacher.classifier), scale }, model.embeddingSize);
  try {
    const embeddings = await embedSample(ctx, model, images);
    try {
      const values = torch.tidy(() =>
        distillationError(student, embeddings, weight, torch.tensor(classes, { dtype: "int64" }), {
          temperatures: DISTILLATION_TEMPERATURES,
          scale,
        }),
      );
      return { teacher: teacher.stage, values };
    } finally {
      embeddings.dispose();
    }
  } finally {
    weight.dispose();
    model.dispose();
  }
}

/** `student.onnx` in the model's stage folder; its path relative to the run folder, as the report links it. */
function exportStudent(ctx: StageContext, modelStage: string, model: Backbone): string {
  const file = join("stages", modelStage, "student.onnx");
  exportOnnx(model, join(ctx.paths.runDir, file));
  return file;
}

/** What running the model measures on every rank: the protocols, the TwoNN ID and the distillation error. */
type Measured = Pick<ModelEvaluation, "intrinsicDimension" | "verification" | "ijb" | "distillationError">;

async function measure(
  ctx: StageContext,
  spec: Extract<StageSpec, { kind: "evaluate" }>,
  model: EmbeddingModel,
): Promise<Measured> {
  const { flipSum, batchSize, backend } = ctx.config.evaluation;
  const verification: Record<string, VerificationSummary> = {};
  for (const set of ctx.paths.verification) {
    const result = await verifyModelOnPack(model, set.path, {
      flipSum,
      batchSize,
      workers: ctx.config.workers,
      backend,
      ...groupOption(ctx),
    });
    verification[set.name] = summarize(result);
  }
  const ijb = await ijbOnRelease(ctx, model);
  const { idRepetitions: repetitions } = ctx.config.evaluation;
  const twoNN = (embeddings: torch.Tensor) =>
    intrinsicDimension(embeddings, {
      sampleSize: embeddings.shape[0]!,
      repetitions,
      seed: ctx.config.seed,
      ...groupOption(ctx),
    });
  const errorOnD1 = (embeddings: torch.Tensor, d1: Sample) =>
    spec.teacher ? distillationErrorOnD1(ctx, spec.teacher, embeddings, d1.images, d1.classes) : null;
  // TwoNN on the synthetic ID set when the run has one, else on the D1 sample, which the distillation error reads
  // in any case: each sample is embedded once, and the D1 sample only where something reads it
  const { id, distillationError } =
    ctx.paths.idSet === null
      ? await withSampleEmbeddings(ctx, model, ctx.paths.d1, "D1 sample", async (embeddings, d1) => ({
          id: twoNN(embeddings),
          distillationError: await errorOnD1(embeddings, d1),
        }))
      : {
          id: await withSampleEmbeddings(ctx, model, ctx.paths.idSet, "ID set", twoNN),
          distillationError: spec.teacher
            ? await withSampleEmbeddings(ctx, model, ctx.paths.d1, "D1 sample", errorOnD1)
            : null,
        };
  return {
    intrinsicDimension: {
      mean: id.mean,
      std: id.std,
      interval: id.interval,
      sampleSize: id.sampleSize,
      smallSample: id.smallSample,
      halfSampleEstimates: id.halfSampleEstimates,
    },
    verification,
    ...(ijb === null ? {} : { ijb }),
    distillationError,
  };
}

/** The model's row of the results (written to eval.json) on rank 0; null on the other ranks of a data-parallel run. */
export async function runEvaluateStage(
  ctx: StageContext,
  stageId: string,
  spec: Extract<StageSpec, { kind: "evaluate" }>,
  modelStage: Stage,
): Promise<ModelEvaluation | null> {
  const model = await openStageModel(ctx, modelStage);
  try {
    // one inference model for every measurement: a backbone is exported and its onnxruntime session opened once
    const { backend, batchSize } = ctx.config.evaluation;
    const lead = (ctx.group?.rank ?? 0) === 0;
    const measured = await withInferenceModel(model, { backend, batchSize }, async (m) => {
      const collective = await measure(ctx, spec, m);
      // timed on rank 0 alone, at its own thread count (the other ranks wait)
      if (!lead) return null;
      return {
        ...collective,
        imagesPerSecond: await inferenceSpeed(m, batchSize, { backend }),
        threads: torch.getNumThreads(),
      };
    });
    if (measured === null) return null;
    // an ONNX teacher's multiply-adds would need a cost model of every ONNX operator: not counted
    const size = model instanceof Backbone ? describeBuilt(model) : { parameters: model.parameters, flops: null };
    const evaluation: ModelEvaluation = {
      ...spec.model,
      parameters: size.parameters,
      flops: size.flops,
      ...measured,
      onnx:
        spec.export?.includes("onnx") && model instanceof Backbone ? exportStudent(ctx, spec.modelStage, model) : null,
    };
    writeJson(evaluationFile(ctx, stageId), evaluation);
    return evaluation;
  } finally {
    await releaseModel(model);
  }
}
