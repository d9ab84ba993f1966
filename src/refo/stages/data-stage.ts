// The data a run makes before any model: the built-in synthetic dataset when the config names no labeled set, or
// the faces of the configured photo folders aligned into packs (`data.align`).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { alignFolder, generateSyntheticDataset, type AlignFolderOptions, type AlignSummary } from "../../data/index.js";
import { writeJson } from "../../io/index.js";
import { alignedPath, type StageContext } from "../context.js";

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
  ctx.log(alignmentLine(name, summary));
  return summary;
}

function alignmentLine(name: string, s: AlignSummary): string {
  const skips = Object.entries(s.skipped).map(([reason, n]) => `${n} ${reason}`);
  const empty = s.identitiesWithoutFaces;
  return (
    `${name}: ${s.faces} faces from ${s.photos} photos` +
    (skips.length > 0 ? ` (skipped: ${skips.join(", ")})` : "") +
    (empty.length > 0
      ? `; ${empty.length} identities without a face keep their labels but no samples (${empty.slice(0, 5).join(", ")}` +
        `${empty.length > 5 ? ", ..." : ""})`
      : "") +
    `; report: ${s.report}`
  );
}
