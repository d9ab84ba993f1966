// Gradient-mode scopes. Like tidy(), they take synchronous functions: libtorch's grad mode is per thread
// and an await would leak the setting to unrelated code.
import { native } from "./native.js";

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
