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

export function handleOf(t: Tensor | null | undefined): Handle | null | undefined {
  return t === null || t === undefined ? t : t.handle;
}

export function handlesOf(ts: readonly (Tensor | null)[]): (Handle | null)[] {
  return ts.map((t) => (t === null ? null : t.handle));
}
