// ReFO steps 2 and 4: a trained model's embeddings of a whole dataset, in dataset order, for the precomputed
// lookups of reverse and feature-only distillation (no flip: the targets are the model's plain embeddings).
import { openDataset } from "../../data/index.js";

import {
  datasetPath,
  embeddingsFile,
  groupOption,
  openStageModel,
  releaseModel,
  type StageContext,
} from "../context.js";
import type { Stage, StageSpec } from "../plan.js";
import { extractEmbeddings } from "../../infer/index.js";

export async function runEmbedStage(
  ctx: StageContext,
  stageId: string,
  spec: Extract<StageSpec, { kind: "embed" }>,
  modelStage: Stage,
): Promise<void> {
  const model = await openStageModel(ctx, modelStage);
  const source = openDataset(datasetPath(ctx.paths, spec.data));
  const progress = ctx.progress(stageId);
  try {
    await extractEmbeddings(model, source, {
      out: embeddingsFile(ctx, stageId),
      batchSize: ctx.config.evaluation.batchSize,
      backend: ctx.config.evaluation.backend,
      workers: ctx.config.workers,
      onBatch: (done, total) => progress.update(done, total),
      ...groupOption(ctx),
    });
  } finally {
    progress.stop();
    source.close();
    await releaseModel(model);
  }
}
