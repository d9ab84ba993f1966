import { keep } from "../scope.js";
import { Tensor } from "../tensor.js";

/**
 * A trainable tensor owned by a Module. It is a leaf of the autograd graph and no tidy() scope disposes it;
 * Module.dispose() does.
 */
export class Parameter extends Tensor {
  /** Takes over `data` (which becomes disposed); a non-leaf is detached first. */
  constructor(data: Tensor, requiresGrad = true) {
    const leaf = data.isLeaf ? data : data.detach();
    super(leaf.takeHandle());
    if (leaf !== data) data.dispose();
    keep(this);
    this.requiresGrad_(requiresGrad);
  }
}
