// Turning caller-supplied ids and indices (tensors or plain arrays) into int64 tensors.
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";

/** An int64 1-d tensor of integer ids or indices; `what` names the argument in errors. */
export function indexTensor(values: Tensor | ArrayLike<number>, what: string): Tensor {
  if (values instanceof torch.Tensor) {
    if (values.dtype.startsWith("float") || values.dtype === "bfloat16" || values.dtype === "bool")
      throw new TypeError(`${what}: expected an integer tensor, got ${values.dtype}`);
    return values.flatten().to("int64");
  }
  const data = Float64Array.from(values);
  if (!data.every(Number.isSafeInteger)) throw new TypeError(`${what}: expected integers`);
  return torch.tensor(data).to("int64");
}

/** A bool 1-d tensor from a bool or numeric tensor or array (non-zero is true). */
export function flagTensor(values: Tensor | ArrayLike<number | boolean>, what: string): Tensor {
  if (values instanceof torch.Tensor) return values.flatten().ne(0);
  const data = Uint8Array.from(Array.from(values, (v) => (v ? 1 : 0)));
  if (data.length !== values.length) throw new TypeError(`${what}: could not read the flags`);
  return torch.tensor(data).ne(0);
}
