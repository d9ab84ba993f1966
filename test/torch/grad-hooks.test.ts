import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

test("onGradAccumulated runs during backward, after each leaf's gradient is accumulated, until removed", () => {
  const a = torch.keep(torch.tensor([1, 2, 3], { requiresGrad: true }));
  const b = torch.keep(torch.tensor([4, 5], { requiresGrad: true }));
  const seen: [string, number[] | null][] = [];
  const removeA = torch.onGradAccumulated(a, () => seen.push(["a", a.grad?.toNumbers() ?? null]));
  const removeB = torch.onGradAccumulated(b, () => seen.push(["b", b.grad?.toNumbers() ?? null]));
  const backward = () => torch.tidy(() => a.mul(2).sum().add(b.pow(2).sum()).backward());
  backward();
  backward(); // the second pass accumulates: each hook sees the sum so far
  assert.deepEqual(
    seen.sort(([x], [y]) => x.localeCompare(y)),
    [
      ["a", [2, 2, 2]],
      ["a", [4, 4, 4]],
      ["b", [8, 10]],
      ["b", [16, 20]],
    ],
  );
  removeA();
  backward();
  assert.deepEqual(seen.filter(([name]) => name === "a").length, 2, "a removed hook is not called again");
  assert.equal(seen.length, 5);
  removeB();
  assert.throws(
    () => torch.tidy(() => torch.onGradAccumulated(a.mul(2), () => undefined)),
    /addGradHook: expected a leaf tensor that requires grad/,
  );
  a.dispose();
  b.dispose();
});
