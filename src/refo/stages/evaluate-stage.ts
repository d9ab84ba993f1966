// One model's numbers for the results table: size, inference speed, the pair protocol on each verification set,
// and the intrinsic dimension (TwoNN) of its embeddings of a fixed sample of D1, the same sample for every model.
import { Rng, openDataset } from "../../data/index.js";
import { describeBuilt, type Backbone } from "../../models/index.js";
import type { PairProtocolResult } from "../../eval/index.js";
import { embedImages, inferenceSpeed, verifyModelOnPack } from "../../infer/index.js";
import { intrinsicDimension, sampleIndices } from "../../analysis/index.js";
import type { ModelResult, VerificationSummary } from "../../report/index.js";
import { evaluationFile, loadRunModel, modelFile, type StageContext } from "../context.js";
import type { StageSpec } from "../plan.js";
import { writeJson } from "../../io/index.js";

/** eval.json: a model's row of the results, without the run-level fields. */
export type ModelEvaluation = Omit<ModelResult, "metrics" | "stage">;

function summarize(result: PairProtocolResult): VerificationSummary {
  return {
    accuracy: result.accuracy,
    accuracyStd: result.accuracyStd,
    auc: result.roc.auc,
    eer: result.roc.eer,
    tarAtFar: result.roc.tarAtFar.map(({ far, tar }) => ({ far, tar })),
    roc: { far: result.roc.curve.far, tar: result.roc.curve.tar },
  };
}

async function intrinsicDimensionOnD1(ctx: StageContext, model: Backbone) {
  const { idSample, idRepetitions, batchSize } = ctx.config.evaluation;
  const source = openDataset(ctx.paths.d1);
  let images: Uint8Array[];
  try {
    const count = Math.min(idSample, source.length);
    images = Array.from(sampleIndices(source.length, count, new Rng(ctx.config.seed)), (i) => source.read(i).image);
  } finally {
    source.close();
  }
  const embeddings = await embedImages(model, "D1 sample", images, {
    batchSize,
    flipSum: false,
    workers: ctx.config.workers,
  });
  try {
    const result = intrinsicDimension(embeddings, {
      sampleSize: images.length,
      repetitions: idRepetitions,
      seed: ctx.config.seed,
    });
    return { mean: result.mean, std: result.std };
  } finally {
    embeddings.dispose();
  }
}

export async function runEvaluateStage(
  ctx: StageContext,
  stageId: string,
  spec: Extract<StageSpec, { kind: "evaluate" }>,
): Promise<ModelEvaluation> {
  const { model: planned } = spec;
  const { flipSum, batchSize } = ctx.config.evaluation;
  const model = loadRunModel(ctx, planned.architecture, modelFile(ctx, spec.modelStage));
  try {
    const info = describeBuilt(model);
    const verification: Record<string, VerificationSummary> = {};
    for (const set of ctx.paths.verification) {
      const result = await verifyModelOnPack(model, set.path, { flipSum, batchSize, workers: ctx.config.workers });
      verification[set.name] = summarize(result);
    }
    const evaluation: ModelEvaluation = {
      ...planned,
      parameters: info.parameters,
      flops: info.flops,
      imagesPerSecond: inferenceSpeed(model, batchSize),
      intrinsicDimension: await intrinsicDimensionOnD1(ctx, model),
      verification,
    };
    writeJson(evaluationFile(ctx, stageId), evaluation);
    return evaluation;
  } finally {
    model.dispose();
  }
}
