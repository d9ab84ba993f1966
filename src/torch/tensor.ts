// The Tensor class: a libtorch tensor seen from TypeScript, with PyTorch's method names in camelCase. The native
// handle, metadata, data and autograd state come from TensorBase; this class adds the operators.
import * as aten from "./generated/aten.js";
import { registerTensorClass } from "./dispatch.js";
import type { DType, MemoryFormat } from "./dtype.js";
import { TensorBase } from "./tensor-base.js";
import { asTensorLike, isDType, type Shape, type TensorLike, type ToOptions } from "./tensor-args.js";

export { isDType, type Shape, type TensorLike, type ToOptions } from "./tensor-args.js";

export class Tensor extends TensorBase {
  // ---- autograd ----
  requiresGrad_(requiresGrad = true): this {
    aten.requires_grad_(this, requiresGrad);
    return this;
  }
  detach(): Tensor {
    return aten.detach(this);
  }

  // ---- conversion ----
  /** The elements as plain numbers in row-major order. */
  toNumbers(): number[] {
    const src = this.dtype === "float16" || this.dtype === "bfloat16" ? aten.to_dtype(this, "float32") : this;
    const data = src.data();
    if (src !== this) src.dispose();
    return Array.from(data as ArrayLike<number | bigint>, Number);
  }
  to(target: DType | string | ToOptions): Tensor {
    const opts: ToOptions =
      typeof target === "string" ? (isDType(target) ? { dtype: target } : { device: target }) : target;
    const dtype = opts.dtype ?? this.dtype;
    if (opts.device !== undefined) {
      return aten.to_device(this, opts.device, dtype, false, opts.copy ?? false, opts.memoryFormat ?? null);
    }
    return aten.to_dtype(this, dtype, false, opts.copy ?? false, opts.memoryFormat ?? null);
  }
  float(): Tensor {
    return this.to("float32");
  }
  long(): Tensor {
    return this.to("int64");
  }
  cpu(): Tensor {
    return this.to({ device: "cpu" });
  }
  contiguous(memoryFormat: MemoryFormat = "contiguous"): Tensor {
    return aten.contiguous(this, memoryFormat);
  }
  clone(memoryFormat?: MemoryFormat): Tensor {
    return aten.clone(this, memoryFormat ?? null);
  }

  // ---- arithmetic ----
  add(other: TensorLike, alpha: number = 1): Tensor {
    return typeof other === "number" ? aten.add_Scalar(this, other, alpha) : aten.add_Tensor(this, other, alpha);
  }
  sub(other: TensorLike, alpha: number = 1): Tensor {
    return typeof other === "number" ? aten.sub_Scalar(this, other, alpha) : aten.sub_Tensor(this, other, alpha);
  }
  mul(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.mul_Scalar(this, other) : aten.mul_Tensor(this, other);
  }
  div(other: TensorLike, roundingMode?: "trunc" | "floor"): Tensor {
    if (roundingMode !== undefined) return aten.div_Tensor_mode(this, asTensorLike(other, this), roundingMode);
    return typeof other === "number" ? aten.div_Scalar(this, other) : aten.div_Tensor(this, other);
  }
  remainder(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.remainder_Scalar(this, other) : aten.remainder_Tensor(this, other);
  }
  pow(exponent: TensorLike): Tensor {
    return typeof exponent === "number"
      ? aten.pow_Tensor_Scalar(this, exponent)
      : aten.pow_Tensor_Tensor(this, exponent);
  }
  neg(): Tensor {
    return aten.neg(this);
  }
  abs(): Tensor {
    return aten.abs(this);
  }
  exp(): Tensor {
    return aten.exp(this);
  }
  log(): Tensor {
    return aten.log(this);
  }
  log1p(): Tensor {
    return aten.log1p(this);
  }
  sqrt(): Tensor {
    return aten.sqrt(this);
  }
  rsqrt(): Tensor {
    return aten.rsqrt(this);
  }
  square(): Tensor {
    return aten.square(this);
  }
  sign(): Tensor {
    return aten.sign(this);
  }
  reciprocal(): Tensor {
    return aten.reciprocal(this);
  }
  floor(): Tensor {
    return aten.floor(this);
  }
  ceil(): Tensor {
    return aten.ceil(this);
  }
  round(): Tensor {
    return aten.round(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return aten.clamp(this, min ?? null, max ?? null);
  }
  clampMin(min: number): Tensor {
    return aten.clamp_min(this, min);
  }
  clampMax(max: number): Tensor {
    return aten.clamp_max(this, max);
  }
  maximum(other: Tensor): Tensor {
    return aten.maximum(this, other);
  }
  minimum(other: Tensor): Tensor {
    return aten.minimum(this, other);
  }
  sigmoid(): Tensor {
    return aten.sigmoid(this);
  }
  tanh(): Tensor {
    return aten.tanh(this);
  }
  relu(): Tensor {
    return aten.relu(this);
  }
  cos(): Tensor {
    return aten.cos(this);
  }
  sin(): Tensor {
    return aten.sin(this);
  }
  acos(): Tensor {
    return aten.acos(this);
  }

  // ---- in place (the result is this tensor) ----
  add_(other: TensorLike, alpha: number = 1): this {
    if (typeof other === "number") aten.add__Scalar(this, other, alpha);
    else aten.add__Tensor(this, other, alpha);
    return this;
  }
  sub_(other: TensorLike, alpha: number = 1): this {
    if (typeof other === "number") aten.sub__Scalar(this, other, alpha);
    else aten.sub__Tensor(this, other, alpha);
    return this;
  }
  mul_(other: TensorLike): this {
    if (typeof other === "number") aten.mul__Scalar(this, other);
    else aten.mul__Tensor(this, other);
    return this;
  }
  div_(other: TensorLike): this {
    if (typeof other === "number") aten.div__Scalar(this, other);
    else aten.div__Tensor(this, other);
    return this;
  }
  addcmul_(a: Tensor, b: Tensor, value: number = 1): this {
    aten.addcmul_(this, a, b, value);
    return this;
  }
  addcdiv_(a: Tensor, b: Tensor, value: number = 1): this {
    aten.addcdiv_(this, a, b, value);
    return this;
  }
  lerp_(end: Tensor, weight: number): this {
    aten.lerp__Scalar(this, end, weight);
    return this;
  }
  clamp_(min?: number | null, max?: number | null): this {
    aten.clamp_(this, min ?? null, max ?? null);
    return this;
  }
  sqrt_(): this {
    aten.sqrt_(this);
    return this;
  }
  copy_(src: Tensor): this {
    aten.copy_(this, src);
    return this;
  }
  fill_(value: number): this {
    aten.fill__Scalar(this, value);
    return this;
  }
  zero_(): this {
    aten.zero_(this);
    return this;
  }
  normal_(mean = 0, std = 1): this {
    aten.normal_(this, mean, std);
    return this;
  }
  uniform_(from = 0, to = 1): this {
    aten.uniform_(this, from, to);
    return this;
  }
  maskedFill_(mask: Tensor, value: number): this {
    aten.masked_fill__Scalar(this, mask, value);
    return this;
  }

  // ---- comparisons ----
  eq(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.eq_Scalar(this, other) : aten.eq_Tensor(this, other);
  }
  ne(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.ne_Scalar(this, other) : aten.ne_Tensor(this, other);
  }
  lt(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.lt_Scalar(this, other) : aten.lt_Tensor(this, other);
  }
  le(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.le_Scalar(this, other) : aten.le_Tensor(this, other);
  }
  gt(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.gt_Scalar(this, other) : aten.gt_Tensor(this, other);
  }
  ge(other: TensorLike): Tensor {
    return typeof other === "number" ? aten.ge_Scalar(this, other) : aten.ge_Tensor(this, other);
  }
  logicalNot(): Tensor {
    return aten.logical_not(this);
  }
  isnan(): Tensor {
    return aten.isnan(this);
  }
  isfinite(): Tensor {
    return aten.isfinite(this);
  }
  all(): Tensor {
    return aten.all(this);
  }
  any(): Tensor {
    return aten.any(this);
  }

  // ---- reductions ----
  sum(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? aten.sum(this) : aten.sum_dim_IntList(this, dim, keepdim);
  }
  mean(dim?: number | readonly number[], keepdim = false): Tensor {
    return dim === undefined ? aten.mean(this) : aten.mean_dim(this, dim, keepdim);
  }
  /** Variance with Bessel's correction by default (correction 1), as in PyTorch. */
  var(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return aten.var_correction(this, dim ?? null, options.correction ?? 1, options.keepdim ?? false);
  }
  std(dim?: number | readonly number[], options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return aten.std_correction(this, dim ?? null, options.correction ?? 1, options.keepdim ?? false);
  }
  prod(): Tensor {
    return aten.prod(this);
  }
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [values: Tensor, indices: Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? aten.max(this) : aten.max_dim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [values: Tensor, indices: Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? aten.min(this) : aten.min_dim(this, dim, keepdim);
  }
  amax(dim: number | readonly number[] = [], keepdim = false): Tensor {
    return aten.amax(this, dim, keepdim);
  }
  amin(dim: number | readonly number[] = [], keepdim = false): Tensor {
    return aten.amin(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return aten.argmax(this, dim ?? null, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return aten.argmin(this, dim ?? null, keepdim);
  }
  topk(k: number, dim = -1, largest = true, sorted = true): [values: Tensor, indices: Tensor] {
    return aten.topk(this, k, dim, largest, sorted);
  }
  sort(dim = -1, descending = false): [values: Tensor, indices: Tensor] {
    return aten.sort_stable(this, true, dim, descending);
  }
  cumsum(dim: number): Tensor {
    return aten.cumsum(this, dim, null);
  }
  logsumexp(dim: number | readonly number[], keepdim = false): Tensor {
    return aten.logsumexp(this, dim, keepdim);
  }
  /** The vector p-norm over `dim` (all elements when omitted). */
  norm(p = 2, dim?: number | readonly number[], keepdim = false): Tensor {
    return aten.linalg_vector_norm(this, p, dim ?? null, keepdim, null);
  }

  // ---- linear algebra and activations ----
  matmul(other: Tensor): Tensor {
    return aten.matmul(this, other);
  }
  mm(other: Tensor): Tensor {
    return aten.mm(this, other);
  }
  bmm(other: Tensor): Tensor {
    return aten.bmm(this, other);
  }
  t(): Tensor {
    return aten.t(this);
  }
  softmax(dim: number): Tensor {
    return aten.softmax_int(this, dim, null);
  }
  logSoftmax(dim: number): Tensor {
    return aten.log_softmax_int(this, dim, null);
  }

  // ---- shapes and indexing ----
  reshape(shape: Shape): Tensor {
    return aten.reshape(this, shape);
  }
  view(shape: Shape): Tensor {
    return aten.view(this, shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return aten.flatten_using_ints(this, startDim, endDim);
  }
  permute(dims: Shape): Tensor {
    return aten.permute(this, dims);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return aten.transpose_int(this, dim0, dim1);
  }
  flip(dims: number | Shape): Tensor {
    return aten.flip(this, typeof dims === "number" ? [dims] : dims);
  }
  squeeze(dim?: number): Tensor {
    return dim === undefined ? aten.squeeze(this) : aten.squeeze_dim(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return aten.unsqueeze(this, dim);
  }
  expand(shape: Shape): Tensor {
    return aten.expand(this, shape, false);
  }
  expandAs(other: Tensor): Tensor {
    return aten.expand_as(this, other);
  }
  repeat(repeats: Shape): Tensor {
    return aten.repeat(this, repeats);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return aten.chunk(this, chunks, dim);
  }
  split(sizeOrSizes: number | Shape, dim = 0): Tensor[] {
    return typeof sizeOrSizes === "number"
      ? aten.split_Tensor(this, sizeOrSizes, dim)
      : aten.split_with_sizes(this, sizeOrSizes, dim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return aten.narrow(this, dim, start, length);
  }
  select(dim: number, index: number): Tensor {
    return aten.select_int(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return aten.index_select(this, dim, index);
  }
  gather(dim: number, index: Tensor): Tensor {
    return aten.gather(this, dim, index, false);
  }
  scatter(dim: number, index: Tensor, src: TensorLike): Tensor {
    return typeof src === "number"
      ? aten.scatter_value(this, dim, index, src)
      : aten.scatter_src(this, dim, index, src);
  }
  maskedSelect(mask: Tensor): Tensor {
    return aten.masked_select(this, mask);
  }
  maskedFill(mask: Tensor, value: number): Tensor {
    return aten.masked_fill_Scalar(this, mask, value);
  }
  /** Advanced indexing with one index tensor (or null for a full slice) per leading dimension. */
  index(indices: readonly (Tensor | null)[]): Tensor {
    return aten.index_Tensor(this, indices);
  }
}

registerTensorClass(Tensor);
