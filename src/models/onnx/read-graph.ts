// An ONNX file's graph read as a LayerGraph: the layers facekd's backbones are made of, whichever way an exporter
// spelled them. PyTorch's exporter and onnx-simplifier differ in the details: Identity nodes sharing equal
// initializers, Gemm or MatMul (+ Add) for linear layers, Flatten or a Reshape fed by a shape computation, PReLU
// slopes of [C, 1, 1], batch norms folded into the convolution before them. Nodes that only compute shapes are
// dropped; an operator with no layer counterpart becomes an `other` layer, named in error messages.
import { readFileSync } from "node:fs";
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import type { Layer, LayerGraph } from "./layer-graph.js";
import { DataType, decodeModel, type AttributeProto, type NodeProto, type TensorProto } from "./proto.js";

/** A file's layers, with the node each came from ("Conv '/layer1/conv1/Conv'") and its metadata. */
export interface FileGraph extends LayerGraph {
  sources: Map<Layer, string>;
  inputDims: (number | string)[];
  metadata: Record<string, string>;
}

/** Reads `file` (an ONNX model); the constants are new tensors in the caller's tidy scope. */
export function readOnnxGraph(file: string): FileGraph {
  let model;
  try {
    model = decodeModel(readFileSync(file));
  } catch (error) {
    throw new Error(`${file}: not an ONNX model (${(error as Error).message})`, { cause: error });
  }
  const graph = model.graph;
  if (!graph?.node?.length) throw new Error(`${file}: the ONNX model has no graph`);
  const constants = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) constants.set(t.name!, tensorOf(t, file));
  const initializers = new Set(constants.keys());
  const input = (graph.input ?? []).find((v) => !initializers.has(v.name!));
  if (input === undefined) throw new Error(`${file}: the graph has no input`);
  const reader = new GraphReader(file, constants);
  for (const node of graph.node) reader.read(node);
  const output = reader.resolve(graph.output?.[0]?.name ?? "");
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  return {
    input: input.name!,
    output,
    layers: reader.layers,
    constants,
    shapes: new Map(),
    sources: reader.sources,
    inputDims: dims.map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : "?")),
    metadata: Object.fromEntries((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""])),
  };
}

class GraphReader {
  readonly layers: Layer[] = [];
  readonly sources = new Map<Layer, string>();
  // Identity and Dropout outputs, and a MatMul's output once an Add has given it a bias
  readonly #alias = new Map<string, string>();
  // values computed from constants and shapes only (shape arithmetic, Constant nodes)
  readonly #static = new Set<string>();

  constructor(
    readonly file: string,
    readonly constants: Map<string, Tensor>,
  ) {}

  resolve(name: string): string {
    let n = name;
    while (this.#alias.has(n)) n = this.#alias.get(n)!;
    return n;
  }

  read(node: NodeProto): void {
    const op = node.opType ?? "";
    const inputs = (node.input ?? []).map((n) => (n === "" ? "" : this.resolve(n)));
    const output = node.output?.[0] ?? "";
    const attr = attributes(node.attribute ?? []);
    const isConstant = (n: string): boolean => n === "" || this.constants.has(n) || this.#static.has(n);
    const where = `${op} '${node.name || output}'`;
    if (op === "Constant") {
      const value = node.attribute?.find((a) => a.name === "value")?.t;
      if (value) this.constants.set(output, tensorOf(value, this.file));
      else this.#static.add(output);
      return;
    }
    if (op === "Identity" || op === "Dropout") {
      this.#alias.set(output, inputs[0]!);
      return;
    }
    if (op === "Shape" || inputs.every(isConstant)) {
      this.#static.add(output); // shape arithmetic: Shape, Gather, Unsqueeze, Concat, ...
      return;
    }
    const add = (layer: Omit<Layer, "output">): void => {
      const l = { ...layer, output };
      this.layers.push(l);
      this.sources.set(l, where);
    };
    const [x, a, b] = inputs as [string, string | undefined, string | undefined];
    switch (op) {
      case "Conv": {
        if (attr.auto_pad && attr.auto_pad !== "NOTSET") return this.other(add, op, x);
        const pads = (attr.pads as number[] | undefined) ?? [0, 0, 0, 0];
        const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0], v[1]] : [1, 1]);
        if (pads[0] !== pads[2] || pads[1] !== pads[3]) return this.other(add, op, x);
        return add({
          kind: "conv",
          inputs: [x],
          params: { weight: a!, ...(b ? { bias: b } : {}) },
          attrs: {
            stride: pair(attr.strides),
            padding: [pads[0]!, pads[1]!],
            dilation: pair(attr.dilations),
            groups: (attr.group as number | undefined) ?? 1,
          },
        });
      }
      case "BatchNormalization":
        return add({
          kind: "batchnorm",
          inputs: [x],
          params: { weight: a!, bias: b!, mean: inputs[3]!, var: inputs[4]! },
          attrs: { eps: (attr.epsilon as number | undefined) ?? 1e-5 },
        });
      case "PRelu":
        return add({ kind: "prelu", inputs: [x], params: { weight: a! }, attrs: {} });
      case "Relu":
        return add({ kind: "clip", inputs: [x], params: {}, attrs: { min: 0, max: null } });
      case "Clip": {
        const bound = (n: string | undefined, fallback: unknown): number | null =>
          n ? this.constants.get(n)!.item() : typeof fallback === "number" ? fallback : null;
        return add({
          kind: "clip",
          inputs: [x],
          params: {},
          attrs: { min: bound(a, attr.min), max: bound(b, attr.max) },
        });
      }
      case "Flatten":
        if ((attr.axis ?? 1) !== 1) return this.other(add, op, x);
        return add({ kind: "flatten", inputs: [x], params: {}, attrs: {} });
      case "Reshape": // x.view(x.size(0), -1) before a linear layer
        return add({ kind: "flatten", inputs: [x], params: {}, attrs: {} });
      case "Gemm": {
        if ((attr.alpha ?? 1) !== 1 || (attr.beta ?? 1) !== 1 || attr.transA) return this.other(add, op, x);
        const weight = attr.transB ? a! : this.derived(`${a}^T`, () => this.constants.get(a!)!.t());
        return add({ kind: "linear", inputs: [x], params: { weight, ...(b ? { bias: b } : {}) }, attrs: {} });
      }
      case "MatMul":
        if (!this.constants.has(a!)) return this.other(add, op, x);
        return add({
          kind: "linear",
          inputs: [x],
          params: { weight: this.derived(`${a}^T`, () => this.constants.get(a!)!.t()) },
          attrs: {},
        });
      case "Add": {
        const constant = inputs.find((n) => this.constants.has(n));
        const other = inputs.find((n) => !this.constants.has(n))!;
        const last = this.layers.at(-1);
        if (constant === undefined) return add({ kind: "add", inputs: [x, a!], params: {}, attrs: {} });
        if (last?.kind === "linear" && last.output === other && last.params.bias === undefined) {
          last.params.bias = constant; // MatMul + Add is a linear layer with a bias
          this.#alias.set(output, other);
          return;
        }
        return this.other(add, op, x);
      }
      default:
        return this.other(add, op, x);
    }
  }

  private other(add: (layer: Omit<Layer, "output">) => void, op: string, input: string): void {
    add({ kind: "other", inputs: input ? [input] : [], params: {}, attrs: { op } });
  }

  private derived(name: string, make: () => Tensor): string {
    if (!this.constants.has(name)) this.constants.set(name, make().contiguous());
    return name;
  }
}

function attributes(list: AttributeProto[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list) {
    const name = a.name ?? "";
    if (a.ints?.length) out[name] = a.ints.map(Number);
    else if (a.floats?.length) out[name] = [...a.floats];
    else if (a.s?.length) out[name] = new TextDecoder().decode(a.s);
    else if (a.type === 1)
      out[name] = a.f ?? 0; // FLOAT
    else out[name] = Number(a.i ?? 0);
  }
  return out;
}

// float32 / float16 / float64 / int64 / int32 initializers as tensors (float16 and float64 become float32)
function tensorOf(t: TensorProto, file: string): Tensor {
  const shape = (t.dims ?? []).map(Number);
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : null; // a copy, aligned
  switch (t.dataType) {
    case DataType.FLOAT:
      return torch.tensor(raw ? new Float32Array(raw.buffer) : Float32Array.from(t.floatData ?? []), { shape });
    case DataType.FLOAT16:
      return torch
        .tensor(raw ? new Uint16Array(raw.buffer) : Uint16Array.from(t.int32Data ?? []), {
          shape,
          dtype: "float16",
        })
        .to("float32");
    case DataType.DOUBLE:
      return torch
        .tensor(raw ? new Float64Array(raw.buffer) : Float64Array.from(t.doubleData ?? []), { shape })
        .to("float32");
    case DataType.INT64:
      return torch.tensor(
        raw ? new BigInt64Array(raw.buffer) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(String(v)))),
        {
          shape,
        },
      );
    case DataType.INT32:
      return torch.tensor(raw ? new Int32Array(raw.buffer) : Int32Array.from(t.int32Data ?? []), { shape });
    default:
      throw new Error(
        `${file}: initializer '${t.name}' has ONNX data type ${t.dataType}, which facekd does not read` +
          " (float32, float16, float64, int32 and int64 are read)",
      );
  }
}
