// Making tensors: from JS data, filled with constants, ranges and random samples.
import * as aten from "./generated/aten.js";
import { native } from "./native.js";
import { Tensor, type Shape } from "./tensor.js";
import { dtypeCode, dtypeOfTypedArray, type AnyTypedArray, type DType } from "./dtype.js";

export interface TensorOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad_(true);
  return t;
}

function flatten(data: unknown, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length <= depth) shape.push(data.length);
    else if (shape[depth] !== data.length) throw new TypeError("tensor(): nested arrays must be rectangular");
    for (const d of data) flatten(d, shape, out, depth + 1);
  } else if (typeof data === "number" || typeof data === "boolean") {
    if (depth !== shape.length) throw new TypeError("tensor(): nested arrays must be rectangular");
    out.push(Number(data));
  } else {
    throw new TypeError(`tensor(): expected numbers, booleans or arrays of them, got ${typeof data}`);
  }
}

type Nested = number | boolean | readonly Nested[];

/**
 * A tensor holding a copy of `data`: a typed array (with `shape`, default 1-d) or nested arrays of numbers
 * (float32 unless `dtype` says otherwise).
 */
export function tensor(data: AnyTypedArray | Nested, options: TensorOptions & { shape?: Shape } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(data)) {
    const natural = data instanceof Uint16Array ? (options.dtype ?? "float16") : dtypeOfTypedArray(data);
    const shape = options.shape ?? [data.length];
    t = new Tensor(native.fromBytes(data, dtypeCode(natural), [...shape]));
    if (options.dtype !== undefined && options.dtype !== natural) t = aten.to_dtype(t, options.dtype);
  } else {
    const shape: number[] = [];
    const values: number[] = [];
    flatten(data, shape, values, 0);
    const dtype = options.dtype ?? "float32";
    const storage = dtype === "float64" ? new Float64Array(values) : new Float32Array(values);
    t = new Tensor(
      native.fromBytes(storage, dtypeCode(storage instanceof Float64Array ? "float64" : "float32"), shape),
    );
    if (options.shape !== undefined) t = t.reshape(options.shape);
    if (dtype !== "float32" && dtype !== "float64") t = aten.to_dtype(t, dtype);
  }
  if (options.device !== undefined && options.device !== "cpu") t = t.to({ device: options.device });
  return finish(t, options);
}

/** A tensor of `dtype` and `shape` over a copy of raw little-endian element bytes (a file's data section). */
export function fromBytes(bytes: ArrayBufferView, dtype: DType, shape: Shape): Tensor {
  return new Tensor(native.fromBytes(bytes, dtypeCode(dtype), [...shape]));
}

/** A 0-d tensor holding one number. */
export function scalar(value: number, options: TensorOptions = {}): Tensor {
  return full([], value, options);
}

export function zeros(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.zeros(shape, options.dtype ?? null, null, options.device ?? null), options);
}

export function ones(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.ones(shape, options.dtype ?? null, null, options.device ?? null), options);
}

export function full(shape: Shape, value: number, options: TensorOptions = {}): Tensor {
  return finish(aten.full(shape, value, options.dtype ?? null, null, options.device ?? null), options);
}

/** Uninitialized memory (contents are arbitrary). */
export function empty(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.empty_memory_format(shape, options.dtype ?? null, null, options.device ?? null), options);
}

/** Values from start (inclusive) to end (exclusive) by step; int64 for integer arguments. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const [from, to] = end === undefined ? [0, start] : [start, end];
  return finish(aten.arange_start_step(from, to, step, options.dtype ?? null, null, options.device ?? null), options);
}

export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  return finish(aten.linspace(start, end, steps, options.dtype ?? null, null, options.device ?? null), options);
}

export function eye(n: number, options: TensorOptions = {}): Tensor {
  return finish(aten.eye(n, options.dtype ?? null, null, options.device ?? null), options);
}

/** Standard normal samples (repeatable after manualSeed). */
export function randn(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.randn(shape, options.dtype ?? null, null, options.device ?? null), options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.rand(shape, options.dtype ?? null, null, options.device ?? null), options);
}

/** Integers uniform in [low, high), int64 unless dtype says otherwise. */
export function randint(low: number, high: number, shape: Shape, options: TensorOptions = {}): Tensor {
  return finish(aten.randint_low(low, high, shape, options.dtype ?? "int64", null, options.device ?? null), options);
}

/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, options: TensorOptions = {}): Tensor {
  return finish(aten.randperm(n, options.dtype ?? "int64", null, options.device ?? null), options);
}

export function zerosLike(t: Tensor): Tensor {
  return aten.zeros_like(t);
}

export function onesLike(t: Tensor): Tensor {
  return aten.ones_like(t);
}

export function fullLike(t: Tensor, value: number): Tensor {
  return aten.full_like(t, value);
}

export function randnLike(t: Tensor): Tensor {
  return aten.randn_like(t);
}
