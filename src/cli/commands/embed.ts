// `facekd embed`: a trained model's embeddings of a dataset, in dataset order (the precomputed embeddings that
// feature-only distillation reads).
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { openDataset } from "../../data/index.js";
import { OnnxTeacher } from "../../models/index.js";
import type { ProcessGroup } from "../../torch/distributed.js";
import { extractEmbeddings, type EmbeddingModel } from "../../infer/index.js";
import { addModelOptions, loadModel, type ModelFlags } from "../model-options.js";
import { choice, integerOption } from "../parse.js";
import { progress } from "../progress.js";
import { addDistOptions, runDistributed, type DistFlags } from "../launch.js";

interface EmbedFlags extends ModelFlags, DistFlags {
  data: string;
  out: string;
  flipSum?: boolean;
  batchSize: number;
  workers: number;
  json?: boolean;
  onnx?: string;
  inputSize?: number;
  layout?: "NCHW" | "NHWC";
  color?: "RGB" | "BGR";
  mean?: number;
  std?: number;
}

const numberOption =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || value.trim() === "") throw new Error(`--${name} must be a number, got '${value}'`);
    return n;
  };

// an ONNX embedding model of any architecture (through onnxruntime), or a registered backbone
async function openModel(flags: EmbedFlags): Promise<EmbeddingModel> {
  if (flags.onnx === undefined) return loadModel(flags);
  const { inputSize, layout, color, mean, std } = flags;
  const options = Object.fromEntries(
    Object.entries({ inputSize, layout, color, mean, std }).filter(([, v]) => v !== undefined),
  );
  return OnnxTeacher.open(flags.onnx, options);
}

export function registerEmbed(program: Command): void {
  addDistOptions(
    addModelOptions(
      program
        .command("embed")
        .description("embeddings of every sample of a dataset (.npy float32 [N, D]), with their labels and provenance"),
    ),
  )
    .requiredOption("--data <dataset>", "a .rec pack, .bin pack, list file or image folder")
    .requiredOption("--out <file.npy>", "embeddings file; <stem>.labels.npy and <stem>.json are written beside it")
    .option("--flip-sum", "sum the embeddings of each image and of its mirror image (insightface's test time)")
    .option("--batch-size <n>", "images per forward pass", integerOption("batch-size", 1), 128)
    .option("--workers <n>", "decoding threads (0: in the main thread)", integerOption("workers", 0), 2)
    .option("--json", "print JSON")
    .option("--onnx <file>", "instead of --model/--weights: any ONNX embedding model, run by onnxruntime")
    .option("--input-size <n>", "--onnx: input side in pixels (the file's, else 112)", integerOption("input-size", 1))
    .option("--layout <NCHW|NHWC>", "--onnx: input layout (the file's, else NCHW)", choice("layout", ["NCHW", "NHWC"]))
    .option("--color <RGB|BGR>", "--onnx: channel order (RGB)", choice("color", ["RGB", "BGR"]))
    .option("--mean <v>", "--onnx: the model takes (pixel - mean) / std on 0..255 (127.5)", numberOption("mean"))
    .option("--std <v>", "--onnx: see --mean (127.5)", numberOption("std"))
    .addHelpText(
      "after",
      "\nExamples:\n  facekd embed --model iresnet50 --weights backbone.pth --data data/synthetic/unlabeled/unlabeled.rec " +
        "--out runs/teacher/emb.npy\n" +
        "  facekd embed --model mbf-w0.25@32 --embedding-size 16 --weights runs/s/model.safetensors --data train.rec " +
        "--out emb.npy --flip-sum --json\n" +
        "  facekd embed --onnx w600k_r50.onnx --data d2.rec --out teacher.npy   # any ONNX teacher\n" +
        "  facekd embed --model iresnet50 --weights w.pth --data d.rec --out e.npy --nproc 2   # each process a share",
    )
    .action((flags: EmbedFlags) => runDistributed(flags, (group) => embed(flags, group)));
}

async function embed(flags: EmbedFlags, group: ProcessGroup | null): Promise<void> {
  const model = await openModel(flags);
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
      ...(group && { group }),
    });
  } finally {
    bar.stop();
    source.close();
    await (model instanceof OnnxTeacher ? model.close() : model.dispose());
  }
  if ((group?.rank ?? 0) !== 0) return;
  if (flags.json) console.log(JSON.stringify(result, null, 2));
  else
    console.log(
      `N ${result.count}, D ${result.dim}\n  embeddings: ${result.embeddings}\n  labels: ${result.labels}\n` +
        `  info: ${result.info}`,
    );
}
