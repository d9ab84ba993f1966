// Free functions over several tensors (the single-tensor ops are Tensor methods).
import * as aten from "./generated/aten.js";
import type { Tensor, TensorLike } from "./tensor.js";

export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return aten.cat(tensors, dim);
}

export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return aten.stack(tensors, dim);
}

/** Elementwise `condition ? a : b`, with broadcasting; a and b may be numbers. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === "number" && typeof b === "number") return aten.where_Scalar(condition, a, b);
  if (typeof a === "number") return aten.where_ScalarSelf(condition, a, b as Tensor);
  if (typeof b === "number") return aten.where_ScalarOther(condition, a, b);
  return aten.where_self(condition, a, b);
}

export function einsum(equation: string, operands: readonly Tensor[]): Tensor {
  return aten.einsum(equation, operands, null);
}

export function allclose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
  return aten.allclose(a, b, rtol, atol, false);
}

export function equal(a: Tensor, b: Tensor): boolean {
  return aten.equal(a, b);
}
