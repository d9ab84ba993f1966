// The native side of a tensor: the libtorch handle and its lifecycle (dispose, `using`, tidy() scopes, handing the
// handle over), its metadata, its elements and its autograd state, all answered by the addon directly. Tensor
// (tensor.ts) adds the operators; it is the class users construct and the one that wraps op results.
import { wrap } from "./dispatch.js";
import {
  dtypeFromCode,
  memoryFormatCode,
  typedArrayFromBytes,
  type AnyTypedArray,
  type DType,
  type MemoryFormat,
} from "./dtype.js";
import { native, type Handle } from "./native.js";
import { track, type Tracked } from "./scope.js";
import type { Tensor } from "./tensor.js";

const DISPOSED =
  "this Tensor was disposed (by dispose(), a `using` declaration or the end of the tidy() scope that made it); " +
  "return it from the tidy() callback or call keep() on it to use it afterwards";

export abstract class TensorBase implements Tracked {
  #handle: Handle | null;

  /** Wraps a native handle. Prefer the creation functions (tensor, zeros, randn, ...). */
  constructor(handle: Handle) {
    this.#handle = handle;
    track(this);
  }

  get handle(): Handle {
    if (this.#handle === null) throw new Error(DISPOSED);
    return this.#handle;
  }

  get isDisposed(): boolean {
    return this.#handle === null;
  }

  /** Releases the native memory now. Idempotent. */
  dispose(): void {
    if (this.#handle !== null) {
      native.dispose(this.#handle);
      this.#handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  leftToGarbageCollector(): void {
    if (this.#handle !== null) native.accountExternal(this.#handle);
  }

  /** Moves the native tensor out of this object, which becomes disposed, without freeing it. */
  takeHandle(): Handle {
    const h = this.handle;
    this.#handle = null;
    return h;
  }

  /**
   * Makes this object refer to `other`'s native tensor (freeing its own); `other` becomes disposed. Lets
   * Module.to() move parameters to another dtype, device or memory format while references stay valid.
   */
  adopt(other: Tensor): this {
    const h = other.takeHandle();
    if (this.#handle !== null) native.dispose(this.#handle);
    this.#handle = h;
    return this;
  }

  // ---- metadata ----
  get shape(): number[] {
    return native.shape(this.handle);
  }
  get dtype(): DType {
    return dtypeFromCode(native.dtype(this.handle));
  }
  get device(): string {
    return native.device(this.handle);
  }
  get ndim(): number {
    return this.shape.length;
  }
  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  size(dim: number): number {
    const shape = this.shape;
    const d = dim < 0 ? dim + shape.length : dim;
    const n = shape[d];
    if (n === undefined) throw new RangeError(`dim ${dim} is out of range for a ${shape.length}-d tensor`);
    return n;
  }
  isContiguous(memoryFormat: MemoryFormat = "contiguous"): boolean {
    return native.isContiguous(this.handle, memoryFormatCode(memoryFormat));
  }
  toString(): string {
    if (this.isDisposed) return "Tensor(disposed)";
    return `Tensor(shape=[${this.shape.join(", ")}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- data ----
  /** The elements in row-major order (float16/bfloat16 as raw 16-bit words; int64 as BigInt64Array). */
  data(): AnyTypedArray {
    return typedArrayFromBytes(this.dtype, native.toBytes(this.handle));
  }
  /** The raw bytes of the elements in row-major order, as stored (a copy). */
  bytes(): Uint8Array {
    return new Uint8Array(native.toBytes(this.handle));
  }
  /** The value of a one-element tensor. */
  item(): number {
    return Number(native.item(this.handle));
  }

  // ---- autograd ----
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  get isLeaf(): boolean {
    return native.isLeaf(this.handle);
  }
  /** The accumulated gradient (a new handle each read), or null. */
  get grad(): Tensor | null {
    const h = native.grad(this.handle);
    return h === null ? null : wrap(h);
  }
  set grad(value: Tensor | null) {
    native.setGrad(this.handle, value === null ? null : value.handle);
  }
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward(this.handle, gradient?.handle ?? null, options.retainGraph ?? false, options.createGraph ?? false);
  }
}
