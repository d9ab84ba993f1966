import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

// A parameter whose gradient after backward of scaleLoss(sum(p * k)) is scale * k.
function gradientsOf(scaler: torch.GradScaler, p: torch.nn.Parameter, k: number): void {
  p.grad = null;
  torch.tidy(() => scaler.scaleLoss(p.mul(k).sum()).backward());
}

test("the scaler scales the loss, unscales the gradients and grows the scale after growthInterval good steps", () => {
  const scaler = new torch.GradScaler({ initScale: 1024, growthInterval: 3 });
  const p = new torch.nn.Parameter(torch.ones([2]));
  const scales: number[] = [];
  for (let i = 0; i < 4; i++) {
    gradientsOf(scaler, p, 0.25);
    assert.deepEqual([...p.grad!.data()], [scaler.scale * 0.25, scaler.scale * 0.25]);
    scales.push(scaler.scale);
    assert.equal(scaler.unscaleAndUpdate([p]), false);
    assert.deepEqual([...p.grad!.data()], [0.25, 0.25], "the optimizer sees the true gradient");
  }
  assert.deepEqual(scales, [1024, 1024, 1024, 2048], "doubled after 3 good steps");
  assert.deepEqual(scaler.stateDict(), { scale: 2048, growthTracker: 1 });
  p.dispose();
});

test("an overflowing gradient is reported, backs the scale off and resets the growth count", () => {
  const scaler = new torch.GradScaler({ initScale: 2 ** 16, growthInterval: 2 });
  const p = new torch.nn.Parameter(torch.ones([3]));
  const q = new torch.nn.Parameter(torch.ones([1]));
  gradientsOf(scaler, p, 1);
  assert.equal(scaler.unscaleAndUpdate([p, q]), false, "a parameter without a gradient is ignored");
  assert.equal(scaler.stateDict().growthTracker, 1);
  gradientsOf(scaler, p, 1e38); // 2^16 * 1e38 overflows float32
  assert.equal(scaler.unscaleAndUpdate([p]), true);
  assert.deepEqual(scaler.stateDict(), { scale: 2 ** 15, growthTracker: 0 });
  gradientsOf(scaler, p, Number.NaN);
  assert.equal(scaler.unscaleAndUpdate([p]), true);
  assert.equal(scaler.scale, 2 ** 14);
  [p, q].forEach((t) => t.dispose());
});

test("a scaler's state loads into a new one, which then continues exactly", () => {
  const a = new torch.GradScaler({ growthInterval: 2 });
  a.update(true);
  a.update(false);
  const b = new torch.GradScaler({ growthInterval: 2 });
  b.loadStateDict(JSON.parse(JSON.stringify(a.stateDict())) as torch.GradScalerState);
  a.update(false);
  b.update(false);
  assert.deepEqual(b.stateDict(), a.stateDict());
  assert.equal(b.scale, 2 ** 16, "2^16, halved, then doubled after 2 good steps");
  assert.throws(() => b.loadStateDict({ scale: -1, growthTracker: 0 }), /not a scaler state/);
  assert.throws(() => new torch.GradScaler({ backoff: 2 }), /backoff/);
});
