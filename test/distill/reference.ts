// Plain-JS arithmetic on small arrays: the hand computations the distillation tests compare the losses against.
import * as torch from "../../src/torch/index.js";

export type Vector = number[];
export type Matrix = number[][];

export const sum = (v: Vector): number => v.reduce((a, b) => a + b, 0);
export const mean = (v: Vector): number => sum(v) / v.length;
export const dot = (a: Vector, b: Vector): number => sum(a.map((x, i) => x * b[i]!));
export const sub = (a: Vector, b: Vector): Vector => a.map((x, i) => x - b[i]!);
export const norm = (v: Vector): number => Math.sqrt(dot(v, v));
export const unit = (v: Vector): Vector => v.map((x) => x / Math.max(norm(v), 1e-12));
export const squaredDistance = (a: Vector, b: Vector): number => sum(sub(a, b).map((x) => x * x));
export const huber = (x: number, delta = 1): number =>
  Math.abs(x) < delta ? (0.5 * x * x) / delta : Math.abs(x) - 0.5 * delta;

export function softmax(v: Vector): Vector {
  const top = Math.max(...v);
  const e = v.map((x) => Math.exp(x - top));
  return e.map((x) => x / sum(e));
}

/** KL(p || q) = sum p log(p / q). */
export const kl = (p: Vector, q: Vector): number => sum(p.map((x, i) => (x === 0 ? 0 : x * Math.log(x / q[i]!))));

/** A float64 tensor of nested arrays. */
export const f64 = (values: Matrix | Vector | Matrix[] | Matrix[][]): torch.Tensor =>
  torch.tensor(values as number[], { dtype: "float64" });

export const int64 = (values: number[]): torch.Tensor => torch.tensor(values, { dtype: "int64" });

/** A loss's value as a number, freeing everything it made. */
export const valueOf = (f: () => torch.Tensor): number => torch.tidy(() => f().item());

// Tiny inputs shared by several tests: student/teacher embeddings (FS, FT) and logits (ZS, ZT).
export const FS: Matrix = [
  [1, 0.5, -0.2],
  [0.1, -1, 2],
];
export const FT: Matrix = [
  [2, 0, 0.3],
  [0.4, -0.6, 1],
];
export const ZS: Matrix = [
  [1, 2, 0],
  [0, -1, 3],
];
export const ZT: Matrix = [
  [2, 1, 0],
  [0.5, 0.5, 1],
];
