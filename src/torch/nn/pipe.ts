// Running layers one after another while freeing what is no longer needed, as PyTorch's reference counting does.
// Without it an inference pass would hold every activation until the end of the enclosing tidy(), and the
// allocator would map (and page-fault) fresh memory for each of them on every step. Freeing a handle is always
// safe here: autograd keeps its own references to whatever backward needs.
import type { Tensor } from "../tensor.js";

export interface Layer {
  forward(x: Tensor): Tensor;
}

/**
 * Applies `layers` in order and frees each intermediate result once the next layer has consumed it. `claim` sees
 * every result by layer index and may keep it (a feature tap) by returning true. The input is never freed.
 */
export function pipe(
  input: Tensor,
  layers: readonly Layer[],
  claim?: (index: number, output: Tensor) => boolean,
): Tensor {
  let x = input;
  let claimed = true; // the input belongs to the caller
  layers.forEach((layer, i) => {
    const y = layer.forward(x);
    if (!claimed && y !== x) x.dispose();
    claimed = claim?.(i, y) ?? false;
    x = y;
  });
  return x;
}
