// Glue for the generated operator wrappers (generated/aten.ts): lazy op lookup and result wrapping. The Tensor
// class registers itself here (tensor.ts), so that this file needs only its type: Tensor's methods call the
// generated ops, which would otherwise import Tensor back through this file.
import { native, type Handle } from "./native.js";
import type { Tensor } from "./tensor.js";

let TensorClass: new (handle: Handle) => Tensor;

/** Called once by tensor.ts with the class that wraps op results. */
export function registerTensorClass(cls: new (handle: Handle) => Tensor): void {
  TensorClass = cls;
}

const ids: number[] = [];

/** Sees every op call with its boxed arguments and its result (the first argument for in-place ops). */
export type OpObserver = (name: string, overload: string, args: unknown[], result: unknown, inPlace: boolean) => void;

let observer: OpObserver | null = null;

/** Runs `fn` with every op call reported to `observe` (see trace.ts); observers do not nest. */
export function withOpObserver<T>(observe: OpObserver, fn: () => T): T {
  if (observer !== null) throw new Error("withOpObserver: an op observer is already active (traces do not nest)");
  observer = observe;
  try {
    return fn();
  } finally {
    observer = null;
  }
}

/** Runs `fn` unseen by the active observer, if any: engine-internal work inside a traced call (a one-time probe). */
export function unobserved<T>(fn: () => T): T {
  const active = observer;
  observer = null;
  try {
    return fn();
  } finally {
    observer = active;
  }
}

/** The dispatcher id of op `slot`, looked up on first use. */
export function opId(slot: number, name: string, overload: string): number {
  let id = ids[slot];
  if (id === undefined) {
    try {
      id = native.findOp(name, overload);
    } catch (error) {
      // the op table is generated from one libtorch's schemas; another version may rename or drop an overload
      throw new Error(
        `${(error as Error).message}: facekd's op table (src/torch/generated/aten.ts) was generated from other ` +
          "libtorch schemas; run `npm run gen:ops` against this libtorch (docs/libtorch-versions.md)",
        { cause: error },
      );
    }
    ids[slot] = id;
  }
  return id;
}

export function call(slot: number, name: string, overload: string, args: unknown[]): unknown {
  const result = native.callOp(opId(slot, name, overload), args, false);
  if (observer !== null) observer(name, overload, args, result, false);
  return result;
}

/** Runs an in-place op whose result is one of its arguments (no new handle is made). */
export function callInPlace(slot: number, name: string, overload: string, args: unknown[]): void {
  native.callOp(opId(slot, name, overload), args, true);
  if (observer !== null) observer(name, overload, args, args[0], true);
}

export function wrap(h: unknown): Tensor {
  return new TensorClass(h as Handle);
}

export function wrapAll(hs: unknown): Tensor[] {
  return (hs as Handle[]).map((h) => new TensorClass(h));
}

// Anything that is not a Tensor goes to the addon as it is, which then names the argument in its TypeError.
export function handleOf(t: Tensor | null | undefined): Handle | null | undefined {
  return t instanceof TensorClass ? t.handle : t;
}

export function handlesOf(ts: readonly (Tensor | null)[]): unknown {
  return Array.isArray(ts) ? ts.map((t: unknown) => (t instanceof TensorClass ? t.handle : t)) : ts;
}
