// The model list behind `facekd models`: every registered model with its parameters, FLOPs and embedding size.
import type { Backbone } from "./backbones/backbone.js";
import { countMultiplyAdds } from "./flops.js";
import { createModel, listModels, modelEntry, type BackboneOptions } from "./registry.js";

export interface ModelInfo {
  name: string;
  family: string;
  description: string;
  inputSize: number;
  widthMultiplier: number;
  embeddingSize: number;
  /** Parameters, frozen ones included (PyTorch's sum of p.numel() over model.parameters(), as arcface_torch counts). */
  parameters: number;
  stateDictEntries: number;
  /** Multiply-adds of the conv and linear layers for one image at the model's input size (see flops.ts). */
  flops: number;
}

/** Builds the model, measures it and frees it again. */
export function describeModel(name: string, options: BackboneOptions = {}): ModelInfo {
  const model = createModel(name, options);
  try {
    return describeBuilt(model);
  } finally {
    model.dispose();
  }
}

export function describeBuilt(model: Backbone): ModelInfo {
  const { spec } = model;
  const entry = modelEntry(spec.name);
  return {
    name: spec.name,
    family: entry.family,
    description: entry.description,
    inputSize: spec.inputSize,
    widthMultiplier: spec.widthMultiplier,
    embeddingSize: spec.embeddingSize,
    parameters: model.numParameters(false),
    stateDictEntries: model.stateDict().size,
    flops: countMultiplyAdds(model, [3, spec.inputSize, spec.inputSize]),
  };
}

/** Every registered model (listModels()), one at a time: a few seconds in all, most of it the large IResNets. */
export function describeModels(names: readonly string[] = listModels(), options: BackboneOptions = {}): ModelInfo[] {
  return names.map((name) => describeModel(name, options));
}

/** A plain-text table of models, one line each. */
export function formatModelTable(infos: readonly ModelInfo[]): string {
  const header = ["model", "family", "input", "parameters", "GFLOPs (mult-adds)", "embedding"];
  const rows = infos.map((m) => [
    m.name,
    m.family,
    `${m.inputSize}x${m.inputSize}`,
    m.parameters.toLocaleString("en-US"),
    (m.flops / 1e9).toFixed(3),
    String(m.embeddingSize),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4, 5]);
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
