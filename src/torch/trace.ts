// Op tracing, as torch.jit.trace does it: runs a function and records every ATen op it calls, in call order, with
// its arguments; tensors appear as identities with their shapes. The ONNX exporter builds its graph from the
// record of a model's forward pass, so the model's own code stays the one definition of its computation.
import { withOpObserver } from "./dispatch.js";
import { native, type Handle } from "./native.js";
import type { Tensor } from "./tensor.js";

/** A tensor as a trace sees it: `id` is the same object wherever the same tensor appears (see tensorId). */
export interface TracedTensor {
  readonly id: object;
  readonly shape: readonly number[];
}

export type TracedArg = TracedTensor | number | boolean | string | null | TracedArg[];

export interface TracedOp {
  /** The operator, such as `aten::conv2d`, and its overload (`""` for the default one). */
  name: string;
  overload: string;
  args: TracedArg[];
  /** The results; for an in-place op, its first argument with its new contents. */
  outputs: TracedTensor[];
  inPlace: boolean;
}

/** The identity a trace gives `t` (valid while `t` holds its native tensor). */
export function tensorId(t: Tensor): object {
  return t.handle;
}

/** Runs `fn` (synchronous) and returns its result with the ops it called. */
export function traceOps<T>(fn: () => T): { result: T; ops: TracedOp[] } {
  const ops: TracedOp[] = [];
  const result = withOpObserver((name, overload, args, out, inPlace) => {
    const outputs = (Array.isArray(out) ? out : [out]).filter(isHandle).map(traced);
    ops.push({ name, overload, args: args.map(tracedArg), outputs, inPlace });
  }, fn);
  return { result, ops };
}

// Tensor handles are the only objects among an op's boxed arguments besides lists.
const isHandle = (value: unknown): value is Handle =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const traced = (h: Handle): TracedTensor => ({ id: h, shape: native.shape(h) });

function tracedArg(value: unknown): TracedArg {
  if (Array.isArray(value)) return value.map(tracedArg);
  if (isHandle(value)) return traced(value);
  return value as TracedArg;
}
