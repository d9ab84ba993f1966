// The data a run makes before any model: the built-in synthetic dataset when the config names no labeled set, or
// the faces of the configured photo folders aligned into packs (`data.align`).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import {
  alignFolder,
  formatAlignSummary,
  generateSyntheticDataset,
  type AlignFolderOptions,
  type AlignSummary,
} from "../../data/index.js";
import { writeJson } from "../../io/index.js";
import { ConfigProblems } from "../../config/index.js";
import { alignedPath, type StageContext } from "../context.js";
import { checkDataSizes } from "../preflight.js";

export async function runDataStage(ctx: StageContext): Promise<void> {
  await (ctx.config.data.align ? alignPhotos(ctx) : generateSynthetic(ctx));
}

async function generateSynthetic(ctx: StageContext): Promise<void> {
  let part = "";
  let progress = ctx.progress("synthetic");
  try {
    await generateSyntheticDataset(ctx.paths.dataDir, {
      ...ctx.config.data.synthetic,
      seed: ctx.config.seed,
      onProgress: (stage, done, total) => {
        if (stage !== part) {
          progress.stop();
          [part, progress] = [stage, ctx.progress(`synthetic ${stage}`)];
        }
        progress.update(done, total);
      },
    });
  } finally {
    progress.stop();
  }
}

/**
 * D1's photos hold one person each, so only the largest face of each is kept, and every identity subfolder keeps
 * its label, also one whose photos gave no face: the plan sized the margin heads by the subfolder count.
 */
async function alignPhotos(ctx: StageContext): Promise<void> {
  const { labeled, unlabeled, alignment } = ctx.config.data;
  const common = {
    minFace: alignment.minFace,
    workers: alignment.workers ?? ctx.config.threads ?? availableParallelism(),
  };
  const summaries: Partial<Record<"labeled" | "unlabeled", AlignSummary>> = {};
  summaries.labeled = await alignSet(ctx, "D1", labeled!, "labeled", {
    ...common,
    maxFaces: 1,
    labeled: true,
    keepAllIdentities: true,
  });
  if (unlabeled !== undefined) {
    const { maxFaces } = alignment;
    summaries.unlabeled = await alignSet(ctx, "D2", unlabeled, "unlabeled", {
      ...common,
      ...(maxFaces !== undefined ? { maxFaces } : {}),
    });
  }
  writeJson(join(ctx.folders.dir("data"), "alignment.json"), summaries);
  // preflight could only count photos: the checks that need the sizes, before any training
  const problems = new ConfigProblems();
  const d1 = summaries.labeled.faces;
  checkDataSizes(problems, ctx.config, d1, summaries.unlabeled?.faces ?? d1);
  problems.throwIfAny("refo config (after aligning the photos: add photos or lower these values)");
}

async function alignSet(
  ctx: StageContext,
  name: string,
  photos: string,
  set: "labeled" | "unlabeled",
  options: AlignFolderOptions,
): Promise<AlignSummary> {
  const progress = ctx.progress(`aligning ${name}`);
  let summary: AlignSummary;
  try {
    summary = await alignFolder(photos, alignedPath(ctx.paths.dataDir, set), {
      ...options,
      onProgress: (done, listed) => progress.update(done, listed),
    });
  } finally {
    progress.stop();
  }
  ctx.log(`${name}: ${formatAlignSummary(summary)}`);
  return summary;
}
