// The data a run makes before any model: the built-in synthetic dataset when the config names no labeled set, or
// the faces of the configured photo folders aligned into packs (`data.align`).
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { alignFolder, generateSyntheticDataset, type AlignFolderOptions, type AlignSummary } from "../../data/index.js";
import { writeJson } from "../../io/index.js";
import { ConfigProblems } from "../../config/index.js";
import { alignedPath, type StageContext } from "../context.js";
import { idSampleProblem, MIN_ID_SAMPLE } from "../preflight.js";

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
  checkAlignedSizes(ctx, summaries.labeled.faces, summaries.unlabeled?.faces ?? summaries.labeled.faces);
}

/** The checks that needed the sizes alignment has just given (preflight counted photos), before any training. */
function checkAlignedSizes(ctx: StageContext, d1: number, d2: number): void {
  const { teacher, student, evaluation } = ctx.config;
  const problems = new ConfigProblems();
  const tooFew = (n: number, set: string) => `, more than the ${n} faces aligned from ${set}'s photos`;
  if (teacher.batchSize > d1) problems.add(["teacher", "batchSize"], `is ${teacher.batchSize}${tooFew(d1, "D1")}`);
  if (student.batchSize > Math.min(d1, d2)) {
    const [n, set] = d1 <= d2 ? [d1, "D1"] : [d2, "D2"];
    problems.add(["student", "batchSize"], `is ${student.batchSize}${tooFew(n, set)}`);
  }
  if (Math.min(evaluation.idSample, d1) < MIN_ID_SAMPLE) {
    problems.add(["evaluation", "idSample"], idSampleProblem(Math.min(evaluation.idSample, d1), d1));
  }
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
