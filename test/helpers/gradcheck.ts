// Finite-difference gradient checks in float64, for tests.
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

/**
 * Checks d f(inputs) / d inputs[i] from autograd against central differences for every element of every input.
 * `f` must return a scalar tensor; inputs are float64 values given as [data, shape].
 */
export function gradcheck(
  f: (inputs: torch.Tensor[]) => torch.Tensor,
  inputs: { data: number[]; shape: number[] }[],
  { eps = 1e-6, tol = 1e-5 } = {},
): void {
  const make = (values: number[][]): torch.Tensor[] =>
    inputs.map((x, i) => torch.tensor(new Float64Array(values[i]!), { shape: x.shape }).requiresGrad_(true));
  const base = inputs.map((x) => [...x.data]);

  const analytic = torch.tidy(() => {
    const xs = make(base);
    f(xs).backward();
    return xs.map((x) => x.grad!.toNumbers());
  });

  const valueAt = (values: number[][]): number => torch.tidy(() => torch.noGrad(() => f(make(values)).item()));
  inputs.forEach((x, i) => {
    x.data.forEach((_, j) => {
      const plus = base.map((v) => [...v]);
      const minus = base.map((v) => [...v]);
      plus[i]![j]! += eps;
      minus[i]![j]! -= eps;
      const numeric = (valueAt(plus) - valueAt(minus)) / (2 * eps);
      const got = analytic[i]![j]!;
      assert.ok(
        Math.abs(numeric - got) <= tol * Math.max(1, Math.abs(numeric)),
        `input ${i}, element ${j}: autograd ${got} vs finite differences ${numeric}`,
      );
    });
  });
}

/** Deterministic pseudo-random values in [-1, 1) for test inputs. */
export function values(n: number, seed = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

export function input(
  shape: number[],
  seed = 1,
  transform: (v: number) => number = (v) => v,
): { data: number[]; shape: number[] } {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: values(n, seed).map(transform), shape };
}

export function assertClose(actual: number[], expected: number[], tol = 1e-5, what = "values"): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  actual.forEach((a, i) =>
    assert.ok(
      Math.abs(a - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)),
      `${what}[${i}]: ${a} vs ${expected[i]}`,
    ),
  );
}
