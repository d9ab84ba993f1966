// The built-in synthetic dataset, generated into the run folder when the config names no labeled set.
import { generateSyntheticDataset } from "../../data/index.js";
import type { StageContext } from "../context.js";

export async function runDataStage(ctx: StageContext): Promise<void> {
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
