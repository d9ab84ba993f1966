// facekd's tensor engine: a typed TypeScript API over libtorch.
export { Tensor, type TensorLike, type Shape, type ToOptions } from "./tensor.js";
export {
  type DType,
  type MemoryFormat,
  type AnyTypedArray,
  DTYPES,
  DTYPE_BYTES,
  isFloatingDType,
  typedArrayFromBytes,
} from "./dtype.js";
export * from "./creation.js";
export * from "./ops.js";
export { tidy, keep, trackedCount } from "./scope.js";
export { noGrad, enableGrad, isGradEnabled, onGradAccumulated } from "./autograd.js";
export * from "./autocast.js";
export * from "./grad-scaler.js";
export * from "./runtime.js";
export * as aten from "./generated/aten.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as distributed from "./distributed.js";
export { gatherRows } from "./gather-rows.js";
export { traceOps, tensorId, type TracedOp, type TracedTensor, type TracedArg } from "./trace.js";
