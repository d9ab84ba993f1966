// Backbone checkpoints: arcface_torch's `backbone.pth` (torch.save zip files) and facekd's safetensors files, both
// keyed by PyTorch's state-dict names, so a checkpoint moves between the two worlds unchanged.
import { closeSync, openSync, readSync } from "node:fs";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { isFloatingDType } from "../torch/index.js";
import {
  loadSafetensors,
  loadTorchFile,
  readSafetensorsHeader,
  readTorchFileHeader,
  saveSafetensors,
} from "../io/index.js";
import type { Backbone } from "./backbones/backbone.js";
import { loadOnnxBackbone } from "./onnx/import.js";
import { createModel, listModels, modelEntry, withModel, DEFAULT_OPTIONS, type BackboneOptions } from "./registry.js";

const { nn } = torch;

/** Metadata keys of facekd's backbone safetensors files. */
export const METADATA_MODEL = "facekd.model";
export const METADATA_SPEC = "facekd.spec";

// arcface_torch's resumable training checkpoints nest the backbone under this key
const BACKBONE_PREFIX = "state_dict_backbone.";
const DDP_PREFIX = "module.";

/**
 * The largest weight magnitude a checkpoint may hold: float16's largest value. arcface_torch trains under fp16
 * autocast, and the weights and BatchNorm statistics of trained face models stay far below 1e4; a larger value
 * comes from damage (a flipped exponent bit scales a weight by up to 2^128) and overflows in the first forward.
 */
export const MAX_WEIGHT_MAGNITUDE = 65504;

export interface CheckpointContents {
  tensors: Map<string, Tensor>;
  /** Safetensors metadata ({} for torch.save files). */
  metadata: Record<string, string>;
}

/**
 * Reads a state dict from a torch.save zip file (`.pth`, `.pt`) or a safetensors file, told apart by their
 * first bytes. Keys are normalized: a training checkpoint's `state_dict_backbone.` entries are taken alone, and a
 * `module.` prefix (DistributedDataParallel) is dropped. Every floating-point weight must be finite and within
 * MAX_WEIGHT_MAGNITUDE. The caller owns (and disposes) the tensors.
 */
export function readCheckpoint(file: string): CheckpointContents {
  const { tensors, metadata } = isZip(file) ? { tensors: loadTorchFile(file), metadata: {} } : loadSafetensors(file);
  const normalized = normalizeKeys(tensors, (t) => t.dispose());
  try {
    checkWeights(normalized, file);
  } catch (error) {
    for (const t of normalized.values()) t.dispose();
    throw error;
  }
  return { tensors: normalized, metadata };
}

/** Throws, naming the tensor and `file`, when a floating-point tensor holds NaN, +-Inf or a value over the bound. */
export function checkWeights(tensors: Map<string, Tensor>, file: string): void {
  for (const [name, t] of tensors) {
    if (!isFloatingDType(t.dtype) || t.numel() === 0) continue;
    // amax propagates NaN, so one reduction finds all three problems
    const peak = torch.tidy(() => t.abs().amax().item());
    if (peak <= MAX_WEIGHT_MAGNITUDE) continue;
    const where = `${file}: tensor '${name}' [${t.shape.join(", ")}]`;
    if (Number.isFinite(peak)) {
      throw new RangeError(
        `${where} holds a weight of magnitude ${peak.toExponential(3)}, beyond the ${MAX_WEIGHT_MAGNITUDE} that ` +
          "any trained face model stays under (float16's range): the file is damaged; use another copy of it",
      );
    }
    const bad = torch.tidy(() => t.isfinite().logicalNot().sum().item());
    throw new RangeError(
      `${where} holds ${bad} non-finite value${bad === 1 ? "" : "s"} (NaN or Inf): the file is damaged or its ` +
        "training diverged; use another copy, or an earlier checkpoint",
    );
  }
}

/** Saves a backbone's state dict as safetensors, with its model name and options in the metadata. */
export function saveBackbone(file: string, model: Backbone): void {
  saveSafetensors(file, model.stateDict(), {
    [METADATA_MODEL]: model.spec.name,
    [METADATA_SPEC]: JSON.stringify(model.spec),
  });
}

/**
 * Builds the named model and loads a checkpoint into it (see readCheckpoint for the formats; an `.onnx` file is
 * imported by its graph's structure, see onnx/import.ts). A checkpoint that does not fit throws a StateDictError
 * listing the missing, unexpected and mis-shaped keys, and naming the registered models whose keys and shapes it
 * does fit. The model keeps its training mode: call eval() to infer.
 */
export function loadBackbone(name: string, file: string, options: BackboneOptions = {}): Backbone {
  if (file.toLowerCase().endsWith(".onnx")) return loadOnnxBackbone(name, file, options);
  const model = createModel(name, options);
  try {
    torch.tidy(() => {
      const { tensors, metadata } = readCheckpoint(file);
      try {
        model.loadStateDict(tensors);
      } catch (error) {
        if (!(error instanceof nn.StateDictError)) throw error;
        throw mismatchError(error, model, file, tensors, metadata);
      }
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/**
 * Throws what loadBackbone would (a StateDictError naming the models that fit) when `file` does not fit the named
 * model, judged by the names and shapes of its tensors alone: the weights are not read, so this costs a model build
 * rather than a load, and a damaged weight shows only when the checkpoint is loaded. An `.onnx` file is imported
 * in full: its weights are matched through the graph's structure, not by name.
 */
export function checkBackboneFile(name: string, file: string, options: BackboneOptions = {}): void {
  if (file.toLowerCase().endsWith(".onnx")) return loadBackbone(name, file, options).dispose();
  const { tensors, metadata } = isZip(file)
    ? { tensors: readTorchFileHeader(file), metadata: {} }
    : readSafetensorsHeader(file);
  const shapes = normalizeKeys(tensors);
  withModel(name, options, (model) => {
    try {
      model.checkStateDict(shapes);
    } catch (error) {
      if (!(error instanceof nn.StateDictError)) throw error;
      throw mismatchError(error, model, file, shapes, metadata);
    }
  });
}

/**
 * The registered models (listModels()) whose state dicts have exactly the keys and shapes of `tensors`, with the
 * embedding size that makes them fit. Key names do not depend on widths, input or embedding sizes, so each family
 * is first checked on a tiny build, which also tells where the embedding size is; only the registered names of a
 * family with the same keys are built in full. Meant for error messages and tools, not for loops.
 */
export function findFittingModels(tensors: Shapes): { name: string; embeddingSize: number }[] {
  const byBase = new Map<string, string[]>();
  for (const name of listModels()) {
    const base = modelEntry(name).name;
    byBase.set(base, [...(byBase.get(base) ?? []), name]);
  }
  const fits: { name: string; embeddingSize: number }[] = [];
  for (const [base, names] of byBase) {
    const embeddingSize = withModel(base, TINY, (model) =>
      sameKeys(model.stateDict(), tensors) ? checkpointEmbeddingSize(model, tensors) : undefined,
    );
    if (embeddingSize === undefined) continue;
    for (const name of names) {
      const fit = withModel(name, { embeddingSize }, (model) =>
        [...model.stateDict()].every(([k, t]) => sameShape(t.shape, tensors.get(k)!.shape)),
      );
      if (fit) fits.push({ name, embeddingSize });
    }
  }
  return fits;
}

// the cheapest build of a family: one or two channels per layer on 16x16 inputs
const TINY: BackboneOptions = { widthMultiplier: 1 / 64, inputSize: 16, embeddingSize: 1 };

/** A state dict's names and shapes: its tensors, or a file's header. */
type Shapes = ReadonlyMap<string, { readonly shape: readonly number[] }>;

const sameKeys = (a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>): boolean =>
  a.size === b.size && [...a.keys()].every((k) => b.has(k));

function mismatchError(
  error: torch.nn.StateDictError,
  model: Backbone,
  file: string,
  tensors: Shapes,
  metadata: Record<string, string>,
): torch.nn.StateDictError {
  const { missingKeys, unexpectedKeys, shapeMismatches } = error;
  const fits = findFittingModels(tensors).filter(
    (f) => f.name !== model.spec.name || f.embeddingSize !== model.embeddingSize,
  );
  const saidModel = metadata[METADATA_MODEL];
  const named = (f: { name: string; embeddingSize: number }): string =>
    `'${f.name}'` + (f.embeddingSize !== model.embeddingSize ? ` with embeddingSize ${f.embeddingSize}` : "");
  const hint =
    fits.length > 0
      ? `\n  the checkpoint fits ${fits.map(named).join(", ")}: load it under that name`
      : "\n  no registered model fits the checkpoint's keys and shapes" +
        (saidModel !== undefined ? ` (the file says it holds '${saidModel}')` : "");
  return new nn.StateDictError(
    `loadBackbone('${model.spec.name}', ${file}): the checkpoint (${tensors.size} entries) does not fit the model ` +
      `(${model.stateDict().size} entries)` +
      list("missing keys", missingKeys) +
      list("unexpected keys", unexpectedKeys) +
      list("shape mismatches", shapeMismatches) +
      hint,
    missingKeys,
    unexpectedKeys,
    shapeMismatches,
  );
}

const list = (label: string, keys: string[]): string =>
  keys.length === 0
    ? ""
    : `\n  ${label} (${keys.length}): ${keys.slice(0, 12).join(", ")}${keys.length > 12 ? ", ..." : ""}`;

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((n, i) => n === b[i]);

// Every backbone here ends in a BatchNorm1d over the embedding: its running mean has the embedding's length.
function checkpointEmbeddingSize(model: Backbone, tensors: Shapes): number {
  const last = model
    .namedModules()
    .filter(([, m]) => m instanceof nn.BatchNorm1d)
    .at(-1);
  const stats = last && tensors.get(`${last[0]}.running_mean`);
  return stats?.shape.length === 1 ? stats.shape[0]! : DEFAULT_OPTIONS.embeddingSize;
}

// A training checkpoint's backbone entries alone (the others handed to `drop`), without a DDP `module.` prefix.
function normalizeKeys<T>(tensors: Map<string, T>, drop: (t: T) => void = () => undefined): Map<string, T> {
  let out = tensors;
  const inner = [...out.keys()].filter((k) => k.startsWith(BACKBONE_PREFIX));
  if (inner.length > 0) {
    for (const [k, t] of out) if (!k.startsWith(BACKBONE_PREFIX)) drop(t);
    out = new Map(inner.map((k) => [k.slice(BACKBONE_PREFIX.length), out.get(k)!]));
  }
  if ([...out.keys()].every((k) => k.startsWith(DDP_PREFIX))) {
    out = new Map([...out].map(([k, t]) => [k.slice(DDP_PREFIX.length), t]));
  }
  return out;
}

function isZip(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const head = new Uint8Array(4);
    return (
      readSync(fd, head, 0, 4, 0) === 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04
    );
  } finally {
    closeSync(fd);
  }
}
