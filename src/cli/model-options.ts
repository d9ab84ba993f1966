// The options that name a trained backbone (--model, --weights, --embedding-size) and the model they load.
import type { Command } from "commander";
import { loadBackbone, type Backbone } from "../models/index.js";
import { integerOption } from "./parse.js";

export interface ModelFlags {
  model?: string;
  weights?: string;
  embeddingSize?: number;
}

export function addModelOptions(command: Command): Command {
  return command
    .option("--model <name>", "registered model name, such as mbf or mbf-w0.25@32 (see facekd models)")
    .option(
      "--weights <file>",
      "checkpoint: a run's model.safetensors, an arcface_torch backbone.pth or a PyTorch-exported .onnx file",
    )
    .option(
      "--embedding-size <n>",
      "embedding size the model was trained with (512)",
      integerOption("embedding-size", 1),
    );
}

/** The model of `flags`, in eval mode. */
export function loadModel(flags: ModelFlags): Backbone {
  if (flags.model === undefined || flags.weights === undefined) {
    throw new Error("--model and --weights are required (the model name and its checkpoint)");
  }
  const options = flags.embeddingSize === undefined ? {} : { embeddingSize: flags.embeddingSize };
  const model = loadBackbone(flags.model, flags.weights, options);
  model.eval();
  return model;
}
