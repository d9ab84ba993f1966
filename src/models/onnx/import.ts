// ONNX import of IResNet / MobileFaceNet files exported by PyTorch (arcface_torch's torch2onnx.py, insightface's
// model zoo). The initializers' names say nothing reliable (`onnx::Conv_520` once the exporter has folded a batch
// norm), so the file's graph is lined up against the model's own traced graph, layer by layer from the input
// along the edges, and each initializer lands on the state-dict key of the layer it matched. A batch norm the
// exporter folded into the convolution (or linear layer) before it comes back as the identity plus the folded
// bias (weight 1, bias b, mean 0, var 1 - eps): the same function in eval mode, and a trainable model again, as
// ReFO's reverse distillation needs for its teacher. So does one folded into the layer after it (facekd's own
// export folds IResNet's bn2 into fc), with bias 0.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import type { Backbone } from "../backbones/backbone.js";
import { createModel, listModels, modelEntry, withModel, type BackboneOptions } from "../registry.js";
import { traceLayerGraph, type Layer, type LayerGraph } from "./layer-graph.js";
import { ONNX_METADATA } from "./metadata.js";
import { readOnnxGraph, type FileGraph } from "./read-graph.js";

/** A file whose graph does not fit the model, at `node` (the first node that does not match). */
export class OnnxMismatchError extends Error {
  constructor(
    message: string,
    readonly node: string,
  ) {
    super(message);
    this.name = "OnnxMismatchError";
  }
}

/** Builds the named model and loads the weights of an ONNX file exported from the same architecture. */
export function loadOnnxBackbone(name: string, file: string, options: BackboneOptions = {}): Backbone {
  const model = createModel(name, options);
  try {
    torch.tidy(() => {
      const theirs = readOnnxGraph(file);
      const ours = traceLayerGraph(model);
      const fit = fitGraph(ours, theirs);
      if (typeof fit === "string") throw mismatchError(model, file, theirs, fit);
      model.loadStateDict(fit, { strict: false });
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}

/** The registered models (with embedding sizes) whose graphs the file's fits, as in checkpoint's findFittingModels. */
export function findFittingOnnxModels(file: string): { name: string; embeddingSize: number }[] {
  return torch.tidy(() => fittingModels(readOnnxGraph(file)));
}

// ---- alignment

interface Matched {
  ours: Layer;
  /** The file's layer, or null for a batch norm the exporter folded into a neighbour. */
  theirs: Layer | null;
}

/**
 * The state dict the file's weights give `ours` (tensors in the caller's scope), or the source of the first file
 * node that does not fit. With `structureOnly`, channel counts and shapes are not compared (a family check).
 */
function fitGraph(ours: LayerGraph, theirs: FileGraph, structureOnly = false): Map<string, Tensor> | string {
  const values = new Map([[ours.input, theirs.input]]);
  const unused = new Set(theirs.layers);
  const matched: Matched[] = [];
  const readers = (value: string): Layer[] => theirs.layers.filter((l) => unused.has(l) && l.inputs.includes(value));
  const describeValue = (value: string): string =>
    theirs.sources.get(theirs.layers.find((l) => l.output === value)!) ?? `the input '${value}'`;
  for (const layer of ours.layers) {
    const inputs = layer.inputs.map((v) => values.get(v)!);
    const candidates = readers(inputs[0]!).filter((l) => sameInputs(l.inputs, inputs));
    const found = candidates.find((l) => l.kind === layer.kind);
    if (found !== undefined) {
      if (!sameAttrs(layer, found, ours, theirs, structureOnly)) return theirs.sources.get(found)!;
      unused.delete(found);
      values.set(layer.output, found.output);
      matched.push({ ours: layer, theirs: found });
      continue;
    }
    if (layer.kind === "batchnorm") {
      values.set(layer.output, inputs[0]!); // folded by the exporter into a neighbour
      matched.push({ ours: layer, theirs: null });
      continue;
    }
    const other = candidates[0] ?? readers(inputs[0]!)[0];
    return other ? theirs.sources.get(other)! : `the end of the graph after ${describeValue(inputs[0]!)}`;
  }
  const extra = theirs.layers.find((l) => unused.has(l));
  if (extra !== undefined) return theirs.sources.get(extra)!;
  if (values.get(ours.output) !== theirs.output) return `the graph's output '${theirs.output}'`;
  return structureOnly ? new Map() : stateDictOf(matched, ours, theirs);
}

const sameInputs = (a: string[], b: string[]): boolean =>
  a.length === b.length && a.every((v) => b.includes(v)) && b.every((v) => a.includes(v));

function sameAttrs(ours: Layer, theirs: Layer, og: LayerGraph, tg: FileGraph, structureOnly: boolean): boolean {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const shape = (g: LayerGraph, name: string | undefined): readonly number[] | undefined =>
    name === undefined ? undefined : g.constants.get(name)?.shape;
  switch (ours.kind) {
    case "conv": {
      const [o, t] = [shape(og, ours.params.weight)!, shape(tg, theirs.params.weight)!];
      const { stride, padding, dilation, groups } = ours.attrs;
      return (
        same(
          [stride, padding, dilation, o.slice(2)],
          [theirs.attrs.stride, theirs.attrs.padding, theirs.attrs.dilation, t.slice(2)],
        ) &&
        (structureOnly || (groups === theirs.attrs.groups && same(o, t)))
      );
    }
    case "linear":
      return structureOnly || same(shape(og, ours.params.weight), shape(tg, theirs.params.weight));
    case "batchnorm":
    case "prelu": {
      const size = (g: LayerGraph, l: Layer): number | undefined =>
        g.constants.get(l.params.mean ?? l.params.weight!)?.numel();
      return structureOnly || size(og, ours) === size(tg, theirs);
    }
    case "clip":
      return ours.attrs.min === theirs.attrs.min && ours.attrs.max === theirs.attrs.max;
    default:
      return true;
  }
}

// each matched layer's weights under our keys; folded batch norms as identities carrying the folded bias
function stateDictOf(matched: Matched[], ours: LayerGraph, theirs: FileGraph): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  const theirsOf = (l: Matched, role: keyof Layer["params"]): Tensor | undefined => {
    const name = l.theirs?.params[role];
    return name === undefined || name === "" ? undefined : theirs.constants.get(name);
  };
  const ourShape = (key: string): readonly number[] => ours.constants.get(key)!.shape;
  const foldedBias = new Map<string, Tensor>(); // by our layer's output: a bias the model keeps in a batch norm
  for (const m of matched) {
    const p = m.ours.params;
    switch (m.ours.kind) {
      case "conv":
      case "linear": {
        out.set(p.weight!, theirsOf(m, "weight")!);
        const bias = theirsOf(m, "bias");
        if (p.bias !== undefined) out.set(p.bias, bias ?? torch.zeros(ourShape(p.bias)));
        else if (bias !== undefined) foldedBias.set(m.ours.output, bias);
        break;
      }
      case "prelu":
        out.set(p.weight!, theirsOf(m, "weight")!.reshape(ourShape(p.weight!)));
        break;
      case "batchnorm": {
        const size = ourShape(p.mean!);
        if (m.theirs !== null) {
          for (const role of ["weight", "bias", "mean", "var"] as const) {
            if (p[role] !== undefined)
              out.set(
                p[role],
                theirsOf(m, role) ?? (role === "weight" || role === "var" ? torch.ones(size) : torch.zeros(size)),
              );
          }
          break;
        }
        out.set(p.weight!, torch.ones(size));
        out.set(p.bias!, foldedBias.get(m.ours.inputs[0]!) ?? torch.zeros(size));
        out.set(p.mean!, torch.zeros(size));
        out.set(p.var!, torch.full(size, 1 - m.ours.attrs.eps!));
        break;
      }
    }
  }
  return out;
}

// ---- errors

function mismatchError(model: Backbone, file: string, theirs: FileGraph, node: string): OnnxMismatchError {
  const fits = fittingModels(theirs).filter(
    (f) => f.name !== model.spec.name || f.embeddingSize !== model.embeddingSize,
  );
  const named = (f: { name: string; embeddingSize: number }): string =>
    `'${f.name}'` + (f.embeddingSize !== model.embeddingSize ? ` with embeddingSize ${f.embeddingSize}` : "");
  const saidModel = theirs.metadata[ONNX_METADATA.model];
  const hint =
    fits.length > 0
      ? `\n  the file fits ${fits.map(named).join(", ")}: load it under that name`
      : `\n  no registered model fits it (${baseNames().join(", ")})` +
        (saidModel !== undefined ? `; the file says it holds '${saidModel}'` : "") +
        "; any ONNX embedding model can still be a feature-only distillation teacher (teacher.onnx)";
  return new OnnxMismatchError(
    `${file}: node ${node} does not match ${model.spec.name} (embeddingSize ${model.embeddingSize})${hint}`,
    node,
  );
}

const baseNames = (): string[] => [...new Set(listModels().map((n) => modelEntry(n).name))];

// Families whose structure (layer kinds, kernels, strides, edges) the file has, sized by the file: the width from
// its first convolution, the input size from its input's dims (112 when they are dynamic), the embedding size
// from its last layer. Each guess is then checked in full.
function fittingModels(theirs: FileGraph): { name: string; embeddingSize: number }[] {
  const fits: { name: string; embeddingSize: number }[] = [];
  const size = theirs.inputDims[2];
  const inputSize = typeof size === "number" ? size : 112;
  const probeWidth = 0.125; // a cheap build whose first layer's channels are exact
  for (const base of baseNames()) {
    const sized = withModel(base, { widthMultiplier: probeWidth, inputSize, embeddingSize: 1 }, (probe) => {
      const graph = traceLayerGraph(probe);
      if (typeof fitGraph(graph, theirs, true) === "string") return undefined;
      const firstWeight = (g: LayerGraph): number =>
        g.constants.get(g.layers.find((l) => l.kind === "conv")!.params.weight!)!.size(0);
      const last = theirs.layers.findLast((l) => l.params.mean !== undefined || l.params.weight !== undefined)!;
      return {
        widthMultiplier: (firstWeight(theirs) / firstWeight(graph)) * probeWidth,
        inputSize,
        embeddingSize: theirs.constants.get(last.params.mean ?? last.params.weight!)!.size(0),
      };
    });
    if (sized === undefined) continue;
    const { embeddingSize } = sized;
    try {
      const name = withModel(base, sized, (model) =>
        typeof fitGraph(traceLayerGraph(model), theirs) === "string" ? undefined : model.spec.name,
      );
      if (name !== undefined) fits.push({ name, embeddingSize });
    } catch {
      // a width or size the family cannot be built at
    }
  }
  return fits;
}
