// The argument types of Tensor's methods, and the helpers that turn an argument into what an operator takes.
import * as aten from "./generated/aten.js";
import { dtypeCode, type DType, type MemoryFormat } from "./dtype.js";
import type { Tensor } from "./tensor.js";

export type TensorLike = Tensor | number;
export type Shape = readonly number[];

/** Options of `to()`: any of a target dtype, device and memory format. */
export interface ToOptions {
  dtype?: DType;
  device?: string;
  memoryFormat?: MemoryFormat;
  copy?: boolean;
}

export function isDType(value: string): value is DType {
  try {
    dtypeCode(value as DType);
    return true;
  } catch {
    return false;
  }
}

// A number operand as a 0-d tensor of `like`'s dtype, for ops that only take tensors.
export function asTensorLike(value: TensorLike, like: Tensor): Tensor {
  return typeof value === "number" ? aten.full([], value, like.dtype, null, like.device, null) : value;
}
