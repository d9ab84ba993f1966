// `facekd embed`: a trained model's embeddings of a dataset, in dataset order (the precomputed embeddings that
// feature-only distillation reads).
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { openDataset } from "../../data/index.js";

import { addModelOptions, loadModel, type ModelFlags } from "../model-options.js";
import { integerOption } from "../parse.js";
import { progress } from "../progress.js";
import { extractEmbeddings } from "../../infer/index.js";

interface EmbedFlags extends ModelFlags {
  data: string;
  out: string;
  flipSum?: boolean;
  batchSize: number;
  workers: number;
  json?: boolean;
}

export function registerEmbed(program: Command): void {
  addModelOptions(
    program
      .command("embed")
      .description("embeddings of every sample of a dataset (.npy float32 [N, D]), with their labels and provenance"),
  )
    .requiredOption("--data <dataset>", "a .rec pack, .bin pack, list file or image folder")
    .requiredOption("--out <file.npy>", "embeddings file; <stem>.labels.npy and <stem>.json are written beside it")
    .option("--flip-sum", "sum the embeddings of each image and of its mirror image (insightface's test time)")
    .option("--batch-size <n>", "images per forward pass", integerOption("batch-size", 1), 128)
    .option("--workers <n>", "decoding threads (0: in the main thread)", integerOption("workers", 0), 2)
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd embed --model iresnet50 --weights backbone.pth --data data/synthetic/unlabeled/unlabeled.rec " +
        "--out runs/teacher/emb.npy\n" +
        "  facekd embed --model mbf-w0.25@32 --embedding-size 16 --weights runs/s/model.safetensors --data train.rec " +
        "--out emb.npy --flip-sum --json",
    )
    .action(async (flags: EmbedFlags) => {
      const model = loadModel(flags);
      const source = openDataset(flags.data);
      const bar = progress("embedding");
      let result;
      try {
        mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
        result = await extractEmbeddings(model, source, {
          out: flags.out,
          batchSize: flags.batchSize,
          flipSum: flags.flipSum ?? false,
          workers: flags.workers,
          onBatch: (done, total) => bar.update(done, total),
        });
      } finally {
        bar.stop();
        source.close();
        model.dispose();
      }
      if (flags.json) console.log(JSON.stringify(result, null, 2));
      else
        console.log(
          `N ${result.count}, D ${result.dim}\n  embeddings: ${result.embeddings}\n  labels: ${result.labels}\n` +
            `  info: ${result.info}`,
        );
    });
}
