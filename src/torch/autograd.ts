// Gradient-mode scopes, and hooks on accumulated gradients. Like tidy(), the scopes take synchronous functions:
// libtorch's grad mode is per thread and an await would leak the setting to unrelated code.
import { native } from "./native.js";
import type { Tensor } from "./tensor.js";

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = native.setGradEnabled(enabled);
  try {
    const result = fn();
    if (result instanceof Promise) throw new TypeError("noGrad()/enableGrad() need a synchronous function");
    return result;
  } finally {
    native.setGradEnabled(previous);
  }
}

/** Runs fn without recording operations for autograd (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs fn with autograd recording on, even inside noGrad(). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function isGradEnabled(): boolean {
  const previous = native.setGradEnabled(true);
  native.setGradEnabled(previous);
  return previous;
}

/**
 * Calls `fn` whenever a backward pass has accumulated the gradient of `parameter` (a leaf that requires grad), while
 * the rest of the pass goes on: how data parallelism starts averaging a bucket of gradients early. `fn` runs on the
 * JS thread for CPU tensors, inside backward(): it must not throw, and must not await. Returns the removal function.
 */
export function onGradAccumulated(parameter: Tensor, fn: () => void): () => void {
  const hook = native.addGradHook(parameter.handle, fn);
  return () => native.removeGradHook(hook);
}
