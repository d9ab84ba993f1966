// ONNX export of a backbone: its traced layer graph with batch norms folded, one ONNX node per layer, a dynamic
// batch axis by default (a fixed one is an open insightface complaint, #2593), and what a deployment needs to feed
// it (RGB, (x - 127.5) / 127.5, NCHW, the input size) with the embedding size in the model's metadata_props.
import { writeSync } from "node:fs";
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { writeAtomically } from "../../io/index.js";
import type { Backbone } from "../backbones/backbone.js";
import { foldBatchNorms } from "./fold.js";
import { traceLayerGraph, type Layer, type LayerGraph } from "./layer-graph.js";
import { metadataOf } from "./metadata.js";
import {
  DataType,
  encodeModel,
  floatAttr,
  intAttr,
  intsAttr,
  tensorProto,
  tensorValue,
  type NodeProto,
  type TensorProto,
} from "./proto.js";

export interface ExportOptions {
  /** The ONNX operator set (13); 11 to 21. */
  opset?: number;
  /** Weights and arithmetic in float16; the input and output stay float32 (false). */
  fp16?: boolean;
  /** "dynamic" (the default) or a fixed batch size. */
  batch?: "dynamic" | number;
  /**
   * How a PReLU on a feature map is written: "op" (the default), one PRelu node, which every runtime knows; "convs",
   * x + (1 - slope) * relu(-x) as two depthwise 1x1 convolutions, a Relu and an Add. onnxruntime's CPU provider
   * fuses those into its blocked-layout (NCHWc) convolutions, while a PRelu leaves that layout and back around it:
   * at batch 1 on a 2-core EPYC, mbf ran 1.4-1.7x and iresnet18 1.1-1.2x as fast (bench/README.md, `onnx`).
   */
  prelu?: PreluForm;
}

export type PreluForm = "op" | "convs";
export const PRELU_FORMS: readonly PreluForm[] = ["op", "convs"];

export interface ExportResult {
  file: string;
  bytes: number;
  nodes: number;
  opset: number;
}

export const OPSETS = { min: 11, max: 21, default: 13 } as const;

// the IR version each opset came with (onnx/docs/Versioning.md)
const irVersion = (opset: number): number =>
  opset <= 11 ? 6 : opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;

/** Writes `model` (eval-mode computation, batch norms folded) as an ONNX file. */
export function exportOnnx(model: Backbone, file: string, options: ExportOptions = {}): ExportResult {
  const { bytes, nodes, opset } = encodeOnnx(model, options);
  writeAtomically(file, (fd) => writeSync(fd, bytes));
  return { file, bytes: bytes.byteLength, nodes, opset };
}

/** The ONNX file of `model` in memory (see exportOnnx). */
export function encodeOnnx(
  model: Backbone,
  options: ExportOptions = {},
): { bytes: Uint8Array; nodes: number; opset: number } {
  const opset = options.opset ?? OPSETS.default;
  if (!Number.isInteger(opset) || opset < OPSETS.min || opset > OPSETS.max)
    throw new RangeError(`exportOnnx: opset must be an integer from ${OPSETS.min} to ${OPSETS.max}, got ${opset}`);
  const batch = options.batch ?? "dynamic";
  if (batch !== "dynamic" && !(Number.isInteger(batch) && batch >= 1))
    throw new RangeError(`exportOnnx: batch must be 'dynamic' or a positive integer, got ${String(batch)}`);
  const prelu = options.prelu ?? "op";
  if (!PRELU_FORMS.includes(prelu))
    throw new RangeError(`exportOnnx: prelu must be one of ${PRELU_FORMS.join(", ")}, got ${String(prelu)}`);
  const dtype = options.fp16 ? "float16" : "float32";
  return torch.tidy(() => {
    const graph = foldBatchNorms(traceLayerGraph(model));
    const { nodes, initializers } = emitGraph(graph, dtype, prelu);
    const size = model.spec.inputSize;
    const bytes = encodeModel({
      irVersion: irVersion(opset),
      opsetImport: [{ domain: "", version: opset }],
      producerName: "facekd",
      docString: `${model.spec.name} face-recognition backbone, exported by facekd`,
      graph: {
        name: model.spec.name,
        node: nodes,
        initializer: initializers,
        input: [tensorValue(INPUT, DataType.FLOAT, [batch === "dynamic" ? "batch" : batch, 3, size, size])],
        output: [tensorValue(OUTPUT, DataType.FLOAT, [batch === "dynamic" ? "batch" : batch, model.embeddingSize])],
      },
      metadataProps: Object.entries(metadataOf(model)).map(([key, value]) => ({ key, value })),
    });
    return { bytes, nodes: nodes.length, opset };
  });
}

const INPUT = "input";
const OUTPUT = "embedding";

function emitGraph(
  graph: LayerGraph,
  dtype: "float32" | "float16",
  prelu: PreluForm,
): { nodes: NodeProto[]; initializers: TensorProto[] } {
  const onnxType = dtype === "float16" ? DataType.FLOAT16 : DataType.FLOAT;
  const initializers: TensorProto[] = [];
  const constant = (name: string, t: Tensor): string => {
    initializers.push(tensorProto(name, t, dtype));
    return name;
  };
  const param = (name: string | undefined): string =>
    name === undefined ? "" : constant(name, graph.constants.get(name)!);
  // float16 runs between two casts, so callers feed and read float32 either way
  const cast = dtype === "float16";
  const value = (v: string): string =>
    v === graph.input ? (cast ? `${INPUT}_fp16` : INPUT) : v === graph.output ? (cast ? `${OUTPUT}_fp16` : OUTPUT) : v;
  const nodes: NodeProto[] = [];
  if (cast)
    nodes.push({
      name: "cast_input",
      opType: "Cast",
      input: [INPUT],
      output: [value(graph.input)],
      attribute: [intAttr("to", onnxType)],
    });
  graph.layers.forEach((layer, i) => {
    const rank = graph.shapes.get(layer.inputs[0]!)!.length;
    const [input, output, name] = [value(layer.inputs[0]!), value(layer.output), layerName(layer, i)];
    if (layer.kind === "prelu" && prelu === "convs" && rank === 4) {
      nodes.push(...preluAsConvs(graph.constants.get(layer.params.weight!)!, input, output, name, constant));
      return;
    }
    const node = emitLayer(layer, graph, { param, constant, rank });
    nodes.push({ name, ...node, input: [...layer.inputs.map(value), ...(node.input ?? [])], output: [output] });
  });
  if (cast)
    nodes.push({
      name: "cast_output",
      opType: "Cast",
      input: [value(graph.output)],
      output: [OUTPUT],
      attribute: [intAttr("to", DataType.FLOAT)],
    });
  return { nodes, initializers };
}

interface EmitContext {
  /** Adds the named graph constant as an initializer ("" for none). */
  param(name: string | undefined): string;
  /** Adds a new initializer. */
  constant(name: string, t: Tensor): string;
  /** The rank of the layer's (first) input. */
  rank: number;
}

// one ONNX node per layer: its operator, attributes and the inputs after the activations
const EMIT: Record<Layer["kind"], (layer: Layer, graph: LayerGraph, c: EmitContext) => NodeProto> = {
  conv: ({ params, attrs }, graph, c) => {
    const weight = graph.constants.get(params.weight!)!;
    const [ph, pw] = attrs.padding!;
    return {
      opType: "Conv",
      input: [c.param(params.weight), ...(params.bias ? [c.param(params.bias)] : [])],
      attribute: [
        intsAttr("kernel_shape", weight.shape.slice(2)),
        intsAttr("strides", attrs.stride!),
        intsAttr("pads", [ph, pw, ph, pw]),
        intsAttr("dilations", attrs.dilation!),
        intAttr("group", attrs.groups!),
      ],
    };
  },
  batchnorm: ({ params, attrs }, graph, c) => ({
    opType: "BatchNormalization",
    input: [
      c.param(params.weight) || c.constant(`${params.mean}.scale`, torch.onesLike(graph.constants.get(params.mean!)!)),
      c.param(params.bias) || c.constant(`${params.mean}.shift`, torch.zerosLike(graph.constants.get(params.mean!)!)),
      c.param(params.mean),
      c.param(params.var),
    ],
    attribute: [floatAttr("epsilon", attrs.eps!)],
  }),
  // ONNX broadcasts the slope from the last axis: one per channel of [N, C, H, W] is [C, 1, 1]
  prelu: ({ params }, graph, c) => {
    const slope = graph.constants.get(params.weight!)!;
    return { opType: "PRelu", input: [c.constant(params.weight!, slope.reshape([-1, ...Array(c.rank - 2).fill(1)]))] };
  },
  clip: ({ output, attrs }, _graph, c) => ({
    opType: "Clip",
    input: [bound(c, `${output}.min`, attrs.min), bound(c, `${output}.max`, attrs.max)],
  }),
  add: () => ({ opType: "Add" }),
  flatten: () => ({ opType: "Flatten", attribute: [intAttr("axis", 1)] }),
  other: ({ attrs }) => {
    throw new Error(`exportOnnx: no ONNX translation of an '${attrs.op}' layer`);
  },
  linear: ({ params }, _graph, c) => ({
    opType: "Gemm",
    input: [c.param(params.weight), ...(params.bias ? [c.param(params.bias)] : [])],
    attribute: [intAttr("transB", 1)],
  }),
};

/** PReLU(x) = x + (1 - slope) * relu(-x), per channel of [N, C, H, W]: the "convs" form (see ExportOptions.prelu). */
function preluAsConvs(
  slope: Tensor,
  input: string,
  output: string,
  name: string,
  constant: EmitContext["constant"],
): NodeProto[] {
  const channels = slope.numel();
  const depthwise = (suffix: string, weight: Tensor, from: string, to: string): NodeProto => ({
    name: `${name}.${suffix}`,
    opType: "Conv",
    input: [from, constant(`${name}.${suffix}.weight`, weight.reshape([channels, 1, 1, 1]))],
    output: [to],
    attribute: [intsAttr("kernel_shape", [1, 1]), intAttr("group", channels)],
  });
  return [
    depthwise("negate", torch.full([channels], -1), input, `${output}.negated`),
    { name: `${name}.relu`, opType: "Relu", input: [`${output}.negated`], output: [`${output}.negative_part`] },
    depthwise("scale", torch.scalar(1).sub(slope), `${output}.negative_part`, `${output}.scaled`),
    { name: `${name}.add`, opType: "Add", input: [`${output}.scaled`, input], output: [output] },
  ];
}

const bound = (c: EmitContext, name: string, v: number | null | undefined): string =>
  v === null || v === undefined ? "" : c.constant(name, torch.scalar(v));

function emitLayer(layer: Layer, graph: LayerGraph, c: EmitContext): NodeProto {
  return EMIT[layer.kind](layer, graph, c);
}

// the module a layer's weight belongs to (`layer1.0.conv1`), else the layer's value name
function layerName(layer: Layer, index: number): string {
  return layer.params.weight?.replace(/\.weight$/, "") ?? `${layer.kind}_${index}`;
}
