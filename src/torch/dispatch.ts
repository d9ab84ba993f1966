// Glue for the generated operator wrappers (generated/aten.ts): lazy op lookup and result wrapping.
import { native, type Handle } from "./native.js";
import { Tensor } from "./tensor.js";

const ids: number[] = [];

/** The dispatcher id of op `slot`, looked up on first use. */
export function opId(slot: number, name: string, overload: string): number {
  let id = ids[slot];
  if (id === undefined) {
    id = native.findOp(name, overload);
    ids[slot] = id;
  }
  return id;
}

export function call(slot: number, name: string, overload: string, args: unknown[]): unknown {
  return native.callOp(opId(slot, name, overload), args, false);
}

/** Runs an in-place op whose result is one of its arguments (no new handle is made). */
export function callInPlace(slot: number, name: string, overload: string, args: unknown[]): void {
  native.callOp(opId(slot, name, overload), args, true);
}

export function wrap(h: unknown): Tensor {
  return new Tensor(h as Handle);
}

export function wrapAll(hs: unknown): Tensor[] {
  return (hs as Handle[]).map((h) => new Tensor(h));
}

// Anything that is not a Tensor goes to the addon as it is, which then names the argument in its TypeError.
export function handleOf(t: Tensor | null | undefined): Handle | null | undefined {
  return t instanceof Tensor ? t.handle : t;
}

export function handlesOf(ts: readonly (Tensor | null)[]): unknown {
  return Array.isArray(ts) ? ts.map((t: unknown) => (t instanceof Tensor ? t.handle : t)) : ts;
}
