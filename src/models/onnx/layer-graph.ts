// A backbone's computation as a list of layers (convolution, batch norm, PReLU, clip, add, flatten, linear) over
// named values, read from a trace of its own forward pass (torch.traceOps) rather than from per-model code. ONNX
// export writes this graph; ONNX import lines a file's graph up against it to find each initializer's key.
import * as torch from "../../torch/index.js";
import type { Tensor, TracedArg, TracedOp, TracedTensor } from "../../torch/index.js";
import type { Backbone } from "../backbones/backbone.js";

/** The layers of facekd's backbones; `other` stands for an ONNX operator read from a file that has none. */
export type LayerKind = "conv" | "batchnorm" | "prelu" | "clip" | "add" | "flatten" | "linear" | "other";

/** Constants a layer reads, by role: names in LayerGraph.constants (state-dict keys when traced). */
export interface LayerParams {
  weight?: string;
  bias?: string;
  mean?: string;
  var?: string;
}

export interface LayerAttrs {
  stride?: [number, number];
  padding?: [number, number];
  dilation?: [number, number];
  groups?: number;
  eps?: number;
  min?: number | null;
  max?: number | null;
  /** The ONNX operator of an `other` layer. */
  op?: string;
}

export interface Layer {
  kind: LayerKind;
  /** The activations it reads (two for `add`, one otherwise). */
  inputs: string[];
  output: string;
  params: LayerParams;
  attrs: LayerAttrs;
}

export interface LayerGraph {
  input: string;
  output: string;
  layers: Layer[];
  /** Weights by name; a traced graph's are the model's own tensors (do not dispose them). */
  constants: Map<string, Tensor>;
  /** Each activation's shape at the traced batch size of 1. */
  shapes: Map<string, readonly number[]>;
}

/** The layers of `model`'s eval-mode forward pass on one input (its mode is restored afterwards). */
export function traceLayerGraph(model: Backbone): LayerGraph {
  const size = model.spec.inputSize;
  const keyOf = new Map<object, string>([...model.stateDict()].map(([k, t]) => [torch.tensorId(t), k]));
  const wasTraining = model.training;
  model.eval();
  try {
    return torch.noGrad(() =>
      torch.tidy(() => {
        const input = torch.zeros([1, 3, size, size]);
        const { ops } = torch.traceOps(() => void model.forward(input));
        return buildGraph(model, ops, torch.tensorId(input), keyOf);
      }),
    );
  } finally {
    model.train(wasTraining);
  }
}

function buildGraph(model: Backbone, ops: TracedOp[], inputId: object, keyOf: Map<object, string>): LayerGraph {
  const nameOf = new Map<object, string>([[inputId, "input"]]);
  const shapes = new Map<string, readonly number[]>([["input", [1, 3, model.spec.inputSize, model.spec.inputSize]]]);
  const layers: Layer[] = [];
  const where = (op: TracedOp): string => `${model.spec.name}: ${op.name}${op.overload ? `.${op.overload}` : ""}`;
  const ctx: TraceContext = {
    value(arg, op) {
      const name = isTensor(arg) ? nameOf.get(arg.id) : undefined;
      if (name === undefined)
        throw new Error(`${where(op)} reads a tensor that is neither the input nor a result of an earlier op`);
      return name;
    },
    constant(arg, op) {
      const key = isTensor(arg) ? keyOf.get(arg.id) : undefined;
      if (key === undefined)
        throw new Error(`${where(op)} takes a weight that is not one of the model's parameters or buffers`);
      return key;
    },
    fail(op, why) {
      throw new Error(`${where(op)}: ${why}; the ONNX exporter cannot translate it`);
    },
  };
  for (const op of ops) {
    if (op.name === "aten::zeros") continue; // the probe input itself
    const translate = TRANSLATE[`${op.name}.${op.overload}`];
    if (translate === undefined) {
      ctx.fail(op, "no ONNX translation (add one to TRANSLATE in src/models/onnx/layer-graph.ts)");
      continue;
    }
    const out = op.outputs[0]!;
    const layer = translate(op.args, ctx, op);
    if (layer === "alias") {
      nameOf.set(out.id, ctx.value(op.args[0]!, op));
      continue;
    }
    const output = `${layer.kind}_${layers.length}`;
    nameOf.set(out.id, output); // an in-place op's tensor now holds the new value
    shapes.set(output, out.shape);
    layers.push({ ...layer, output });
  }
  const output = layers.at(-1)?.output ?? "input";
  return { input: "input", output, layers, constants: model.stateDict(), shapes };
}

interface TraceContext {
  value(arg: TracedArg, op: TracedOp): string;
  constant(arg: TracedArg, op: TracedOp): string;
  fail(op: TracedOp, why: string): never;
}

type Translation = Omit<Layer, "output"> | "alias";

const isTensor = (a: TracedArg | undefined): a is TracedTensor => typeof a === "object" && a !== null && "id" in a;
const pair = (a: TracedArg | undefined): [number, number] =>
  Array.isArray(a) ? [a[0] as number, (a[1] ?? a[0]) as number] : [a as number, a as number];

// aten op (`name.overload`) -> layer; "alias" passes its input through (dropout in eval mode)
const TRANSLATE: Record<string, (a: TracedArg[], c: TraceContext, op: TracedOp) => Translation> = {
  "aten::conv2d.": (a, c, op) => ({
    kind: "conv",
    inputs: [c.value(a[0]!, op)],
    params: { weight: c.constant(a[1]!, op), ...(isTensor(a[2]) ? { bias: c.constant(a[2], op) } : {}) },
    attrs: { stride: pair(a[3]), padding: pair(a[4]), dilation: pair(a[5]), groups: a[6] as number },
  }),
  "aten::batch_norm.": (a, c, op) => {
    if (a[5] === true) c.fail(op, "batch norm with batch statistics (the model must be in eval mode)");
    return {
      kind: "batchnorm",
      inputs: [c.value(a[0]!, op)],
      params: {
        ...(isTensor(a[1]) ? { weight: c.constant(a[1], op) } : {}),
        ...(isTensor(a[2]) ? { bias: c.constant(a[2], op) } : {}),
        mean: c.constant(a[3]!, op),
        var: c.constant(a[4]!, op),
      },
      attrs: { eps: a[7] as number },
    };
  },
  "aten::prelu.": (a, c, op) => ({
    kind: "prelu",
    inputs: [c.value(a[0]!, op)],
    params: { weight: c.constant(a[1]!, op) },
    attrs: {},
  }),
  "aten::clamp.": (a, c, op) => ({
    kind: "clip",
    inputs: [c.value(a[0]!, op)],
    params: {},
    attrs: { min: a[1] as number | null, max: a[2] as number | null },
  }),
  "aten::relu.": (a, c, op) => ({
    kind: "clip",
    inputs: [c.value(a[0]!, op)],
    params: {},
    attrs: { min: 0, max: null },
  }),
  "aten::add_.Tensor": (a, c, op) => add(a, c, op),
  "aten::add.Tensor": (a, c, op) => add(a, c, op),
  "aten::flatten.using_ints": (a, c, op) => {
    const rank = (a[0] as TracedTensor).shape.length;
    const [start, end] = [a[1] as number, a[2] as number];
    if (start !== 1 || (end !== -1 && end !== rank - 1)) c.fail(op, `flatten(${start}, ${end}) (only flatten(1) is)`);
    return { kind: "flatten", inputs: [c.value(a[0]!, op)], params: {}, attrs: {} };
  },
  "aten::dropout.": (a, c, op) => (a[2] === false ? "alias" : c.fail(op, "dropout in training mode")),
  "aten::linear.": (a, c, op) => ({
    kind: "linear",
    inputs: [c.value(a[0]!, op)],
    params: { weight: c.constant(a[1]!, op), ...(isTensor(a[2]) ? { bias: c.constant(a[2], op) } : {}) },
    attrs: {},
  }),
};

function add(a: TracedArg[], c: TraceContext, op: TracedOp): Translation {
  if (a[2] !== 1 && a[2] !== undefined && a[2] !== null) c.fail(op, `add with alpha ${String(a[2])}`);
  return { kind: "add", inputs: [c.value(a[0]!, op), c.value(a[1]!, op)], params: {}, attrs: {} };
}

/** How many layers read each value. */
export function consumerCounts(graph: Pick<LayerGraph, "layers" | "output">): Map<string, number> {
  const counts = new Map<string, number>([[graph.output, 1]]);
  for (const layer of graph.layers) for (const v of layer.inputs) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
