// Weight initialization (torch.nn.init), in place and without recording gradients.
import { noGrad } from "../autograd.js";
import type { Tensor } from "../tensor.js";

export type Nonlinearity = "linear" | "conv2d" | "sigmoid" | "tanh" | "relu" | "leaky_relu";

/** [fanIn, fanOut] of a weight shaped [out, in, ...kernel]. */
export function fans(t: Tensor): [number, number] {
  const shape = t.shape;
  if (shape.length < 2)
    throw new RangeError(`fan in/out need a tensor with at least 2 dims, got shape [${shape.join(", ")}]`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return [shape[1]! * receptive, shape[0]! * receptive];
}

export function calculateGain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu":
      return Math.sqrt(2 / (1 + negativeSlope ** 2));
    default:
      return 1;
  }
}

export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  return noGrad(() => t.uniform_(low, high));
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return noGrad(() => t.normal_(mean, std));
}

export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

export interface KaimingOptions {
  a?: number;
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const [fanIn, fanOut] = fans(t);
  const gain = calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0);
  return gain / Math.sqrt((o.mode ?? "fan_in") === "fan_in" ? fanIn : fanOut);
}

export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform_(t, -bound, bound);
}

export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, o));
}

export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  const [fanIn, fanOut] = fans(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)));
}
