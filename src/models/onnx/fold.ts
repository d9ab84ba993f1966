// Batch norm folded into the neighbouring linear maps, for inference: a BatchNorm after a convolution or linear
// layer becomes part of its weights and bias, and one before flatten + linear (IResNet's bn2 ahead of fc) part of
// the linear layer's. In eval mode BN(x) = s * x + t per channel, s = gamma / sqrt(var + eps), t = beta - s * mean,
// so W' = s W, b' = s b + t after the layer, and W' = W s, b' = b + W t before it. A BatchNorm whose input also
// feeds another layer, or that follows an addition (IResNet's blocks start with one), stays a BatchNorm.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { consumerCounts, type Layer, type LayerGraph } from "./layer-graph.js";

/**
 * A copy of `graph` without the batch norms that fold into a neighbour. Folded weights are new tensors, computed
 * in float64 and stored in float32, named after the layer they belong to; they belong to the caller's tidy scope.
 */
export function foldBatchNorms(graph: LayerGraph): LayerGraph {
  const constants = new Map(graph.constants);
  let layers = [...graph.layers];
  for (;;) {
    const counts = consumerCounts({ layers, output: graph.output });
    const producer = new Map(layers.map((l) => [l.output, l]));
    const consumer = (value: string): Layer | undefined =>
      counts.get(value) === 1 ? layers.find((l) => l.inputs.includes(value)) : undefined;
    let fold: Fold | undefined;
    for (const bn of layers.filter((l) => l.kind === "batchnorm")) {
      fold ??= foldOne(bn, producer.get(bn.inputs[0]!), consumer, counts, constants);
    }
    if (fold === undefined) return { ...graph, layers, constants };
    layers = layers.filter((l) => l !== fold.removed).map((l) => fold.replace.get(l) ?? l);
  }
}

interface Fold {
  removed: Layer;
  replace: Map<Layer, Layer>;
}

function foldOne(
  bn: Layer,
  before: Layer | undefined,
  consumer: (value: string) => Layer | undefined,
  counts: Map<string, number>,
  constants: Map<string, Tensor>,
): Fold | undefined {
  const get = (name: string | undefined): Tensor | null =>
    name === undefined ? null : constants.get(name)!.to("float64");
  const affine = (): [Tensor, Tensor] => {
    const mean = get(bn.params.mean)!;
    const scale = (get(bn.params.weight) ?? torch.onesLike(mean)).div(get(bn.params.var)!.add(bn.attrs.eps!).sqrt());
    return [scale, (get(bn.params.bias) ?? torch.zerosLike(mean)).sub(scale.mul(mean))];
  };
  const rename = (after: Layer, input: string): Map<Layer, Layer> =>
    new Map([[after, { ...after, inputs: after.inputs.map((v) => (v === bn.output ? input : v)) }]]);

  // after a convolution or linear layer that nothing else reads
  if (before && (before.kind === "conv" || before.kind === "linear") && counts.get(before.output) === 1) {
    const [scale, shift] = affine();
    const w = get(before.params.weight)!;
    const b = get(before.params.bias) ?? torch.zerosLike(scale);
    const names = paramNames(before);
    constants.set(names.weight, w.mul(scale.reshape([-1, ...w.shape.slice(1).map(() => 1)])).to("float32"));
    constants.set(names.bias, b.mul(scale).add(shift).to("float32"));
    const merged: Layer = { ...before, output: bn.output, params: { ...before.params, ...names } };
    return { removed: bn, replace: new Map([[before, merged]]) };
  }
  // before flatten + linear: the linear layer's inputs are the channels repeated over the map's positions
  const flatten = consumer(bn.output);
  const linear = flatten?.kind === "flatten" ? consumer(flatten.output) : undefined;
  if (flatten && linear?.kind === "linear") {
    const [scale, shift] = affine();
    const w = get(linear.params.weight)!;
    const positions = w.size(1) / scale.size(0);
    const perPosition = (v: Tensor): Tensor =>
      v
        .unsqueeze(1)
        .expand([v.size(0), positions])
        .reshape([-1]);
    const [s, t] = [perPosition(scale), perPosition(shift)];
    const b = get(linear.params.bias) ?? torch.zeros([w.size(0)], { dtype: "float64" });
    const names = paramNames(linear);
    constants.set(names.weight, w.mul(s.unsqueeze(0)).to("float32"));
    constants.set(names.bias, b.add(w.matmul(t)).to("float32"));
    return {
      removed: bn,
      replace: new Map([
        ...rename(flatten, bn.inputs[0]!),
        [linear, { ...linear, params: { ...linear.params, ...names } }],
      ]),
    };
  }
  return undefined;
}

// A layer's weight keeps its name; a bias it gains is named beside it (`conv1.weight` -> `conv1.bias`).
function paramNames(layer: Layer): { weight: string; bias: string } {
  const weight = layer.params.weight!;
  return { weight, bias: layer.params.bias ?? weight.replace(/(\.weight)?$/, ".bias") };
}
