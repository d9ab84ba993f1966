// Automatic mixed precision, as PyTorch's torch.autocast: inside autocast(), matmul-like ops (conv, linear, mm,
// bmm, ...) run in the lower precision and precision-sensitive ones (losses, softmax, norms, ...) in float32, chosen
// by libtorch's per-op lists. Parameters stay float32 ("master weights"): ops cast them on the way in and autograd
// casts the gradients back, so optimizers see float32. Like noGrad(), it takes a synchronous function: the state is
// libtorch's, per thread, and an await would leak it to unrelated code.
import { dtypeCode, dtypeFromCode, type DType } from "./dtype.js";
import { native } from "./native.js";

export type AutocastDevice = "cpu" | "cuda";
export type AutocastDType = "bfloat16" | "float16";

export interface AutocastOptions {
  /** The device type whose ops are cast: tensors on other devices are left alone. */
  device: AutocastDevice;
  /** The lower precision (PyTorch's defaults: bfloat16 on cpu, float16 on cuda). */
  dtype?: AutocastDType;
  /** false runs fn with autocast off for `device` (a float32 region inside an autocast one). */
  enabled?: boolean;
}

/** Whether autocast is on for `device` on this thread, and its dtype. */
export function autocastState(device: AutocastDevice): { enabled: boolean; dtype: DType } {
  const { enabled, dtype } = native.autocastState(device);
  return { enabled, dtype: dtypeFromCode(dtype) };
}

/** Runs fn with autocast set as `options` say, then restores the previous state, also when fn throws. */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const { device, enabled = true } = options;
  const dtype = options.dtype ?? (device === "cpu" ? "bfloat16" : "float16");
  if (device === "cpu" && dtype !== "bfloat16") {
    // libtorch 1.13's CPU autocast accepts only bfloat16; float16 matmuls on CPU are emulated and slow anyway
    throw new TypeError(`autocast: on cpu the dtype must be bfloat16, got '${String(dtype)}'`);
  }
  const previous = native.autocastState(device);
  native.setAutocast(device, enabled, dtypeCode(dtype));
  native.enterAutocast();
  try {
    const result = fn();
    if (result instanceof Promise) throw new TypeError("autocast() needs a synchronous function");
    return result;
  } finally {
    native.exitAutocast();
    native.setAutocast(device, previous.enabled, previous.dtype);
  }
}
