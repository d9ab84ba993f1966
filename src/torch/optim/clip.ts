// Gradient clipping by total norm, as torch.nn.utils.clip_grad_norm_.
import { noGrad } from "../autograd.js";
import * as aten from "../generated/aten.js";
import { tidy } from "../scope.js";
import type { Tensor } from "../tensor.js";

/**
 * Scales the gradients of `params` in place so that their total `normType`-norm (all gradients seen as one
 * vector; Infinity for the max-abs norm) is at most `maxNorm`: they are multiplied by
 * maxNorm / (total + 1e-6) when that is below 1. Parameters without a gradient are ignored. Returns the total
 * norm before clipping (0 when no parameter has a gradient). The arithmetic is PyTorch's, in the grads' dtype.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): number {
  if (!(maxNorm >= 0)) throw new RangeError(`clipGradNorm: maxNorm must be a number >= 0, got ${maxNorm}`);
  if (!(normType > 0)) throw new RangeError(`clipGradNorm: normType must be > 0 (or Infinity), got ${normType}`);
  const list = [...params];
  return noGrad(() =>
    tidy(() => {
      const grads = list.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      if (grads.length === 0) return 0;
      const device = grads[0]!.device;
      const onDevice = (t: Tensor): Tensor => (t.device === device ? t : t.to({ device }));
      let total: Tensor;
      if (normType === Infinity) {
        const norms = grads.map((g) => onDevice(aten.max(aten.abs(g))));
        total = norms.length === 1 ? norms[0]! : aten.max(aten.stack(norms));
      } else {
        const norm = (t: Tensor): Tensor => aten.norm_ScalarOpt_dim(t, normType, allDims(t), false);
        total = norm(aten.stack(grads.map((g) => onDevice(norm(g)))));
      }
      // max_norm / (total + 1e-6) is reciprocal(total + 1e-6) * max_norm in PyTorch (Tensor.__rtruediv__).
      const coef = aten.clamp(aten.mul_Scalar(aten.reciprocal(aten.add_Scalar(total, 1e-6)), maxNorm), null, 1.0);
      // Multiplying by a coefficient of exactly 1 changes nothing, so only clip when it is below.
      if (coef.item() < 1) {
        for (const g of grads) g.mul_(g.device === device ? coef : coef.to({ device: g.device }));
      }
      return total.item();
    }),
  );
}

function allDims(t: Tensor): number[] {
  return Array.from({ length: t.ndim }, (_, i) => i);
}
