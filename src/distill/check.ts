// Argument checks shared by the losses, with messages that name the loss and say what to change.
import type { Tensor } from "../torch/index.js";

const show = (t: Tensor): string => `[${t.shape.join(", ")}]`;

/** Both tensors have the same shape. */
export function sameShape(loss: string, a: Tensor, b: Tensor, what: [string, string]): void {
  if (a.shape.join(",") !== b.shape.join(",")) {
    throw new RangeError(`loss '${loss}': ${what[0]} ${show(a)} and ${what[1]} ${show(b)} differ in shape`);
  }
}

/** `t` has `ndim` dimensions. */
export function rank(loss: string, t: Tensor, ndim: number, what: string): void {
  if (t.ndim !== ndim) throw new RangeError(`loss '${loss}': ${what} must be ${ndim}-d, got ${show(t)}`);
}

/** `value` is a finite number above zero (configuration files may hold anything). */
export function positive(loss: string, name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`loss '${loss}': ${name} must be a number above 0, got ${String(value)}`);
  }
  return value;
}

/** `value` is one of `allowed`. */
export function oneOf<T extends string>(loss: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new RangeError(`loss '${loss}': ${name} must be one of ${allowed.join(", ")}, got '${String(value)}'`);
  }
  return value as T;
}
