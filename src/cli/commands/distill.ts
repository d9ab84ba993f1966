// `facekd distill`: `facekd train` for configs with a distillation term, with a shortcut for the teacher's
// precomputed embeddings.
import path from "node:path";
import type { Command } from "commander";
import { distillationLosses } from "../../distill/index.js";
import { trainConfigSchema } from "../../train/config-schema.js";
import { addTrainOptions, runConfigFile, type TrainFlags } from "./train.js";

const distillSchema = trainConfigSchema.superRefine((config, ctx) => {
  const distillation = distillationLosses();
  if (!config.losses.some((l) => distillation.includes(l.name))) {
    ctx.addIssue({
      code: "custom",
      path: ["losses"],
      message:
        `has no distillation term: add one of ${distillation.join(", ")} ` +
        "(or use facekd train for a model trained on labels alone)",
    });
  }
});

export function registerDistill(program: Command): void {
  addTrainOptions(
    program
      .command("distill")
      .description("train a student (or a reverse-distilled teacher) with a distillation term from a YAML config"),
  )
    .option("--teacher-embeddings <file.npy>", "the teacher's embeddings of the dataset (sets precomputed.teacher)")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd distill --config examples/configs/distill-fo.yaml\n" +
        "  facekd distill --config distill-fo.yaml --teacher-embeddings runs/teacher/emb.npy --run-dir runs/student",
    )
    .action((flags: TrainFlags & { teacherEmbeddings?: string }) =>
      runConfigFile(
        flags,
        distillSchema,
        flags.teacherEmbeddings === undefined ? {} : { "precomputed.teacher": path.resolve(flags.teacherEmbeddings) },
      ),
    );
}
