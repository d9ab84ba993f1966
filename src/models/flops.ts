// FLOPs by shape tracing: the model's own forward pass runs on one zero input, with every Conv2d and Linear
// replaced by a stand-in that returns zeros of the layer's output shape and counts the layer's multiply-adds. The
// shapes thus come from the real network, while the costly convolutions are skipped. Batch norm, activations,
// additions and pooling are left out, as in the figures insightface and most papers quote ("FLOPs" meaning
// multiply-adds of conv and linear layers).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

const { nn } = torch;

type Layer = torch.nn.Conv2d | torch.nn.Linear;

/** Multiply-adds of the Conv2d and Linear layers for one input of `inputShape` (without the batch dimension). */
export function countMultiplyAdds(model: torch.nn.Module, inputShape: readonly number[]): number {
  let total = 0;
  const layers = model
    .namedModules()
    .map(([, m]) => m)
    .filter((m): m is Layer => m instanceof nn.Conv2d || m instanceof nn.Linear);
  for (const layer of layers) {
    // each output element costs one multiply-add per weight of its output channel: (in / groups) * kh * kw, or in
    const perOutput = layer.weight.numel() / layer.weight.size(0);
    const standIn = (x: Tensor): Tensor => {
      const shape = outputShape(layer, x.shape);
      total += shape.slice(1).reduce((a, b) => a * b, 1) * perOutput;
      return torch.zeros(shape);
    };
    Object.defineProperty(layer, "forward", { value: standIn, configurable: true, writable: true });
  }
  const modes = model.namedModules().map(([, m]) => [m, m.training] as const);
  try {
    model.eval();
    torch.noGrad(() => torch.tidy(() => void model.forward(torch.zeros([1, ...inputShape]))));
  } finally {
    for (const layer of layers) delete (layer as { forward?: unknown }).forward;
    for (const [m, training] of modes) m.training = training;
  }
  return total;
}

function outputShape(layer: Layer, input: readonly number[]): number[] {
  const out = layer.weight.size(0);
  if (layer instanceof nn.Linear) return [...input.slice(0, -1), out];
  const [kh, kw] = layer.weight.shape.slice(2) as [number, number];
  const pair = (v: number | readonly [number, number]): readonly [number, number] =>
    typeof v === "number" ? [v, v] : v;
  const [stride, padding, dilation] = [layer.options.stride, layer.options.padding, layer.options.dilation].map(pair);
  const side = (size: number, k: number, i: 0 | 1): number =>
    Math.floor((size + 2 * padding![i] - dilation![i] * (k - 1) - 1) / stride![i]) + 1;
  return [input[0]!, out, side(input[2]!, kh, 0), side(input[3]!, kw, 1)];
}
