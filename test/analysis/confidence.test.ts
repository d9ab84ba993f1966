// Student-t intervals for means over seeds and for paired differences.
import { test } from "node:test";
import assert from "node:assert/strict";
import { meanInterval, pairedDifference } from "../../src/analysis/index.js";

test("meanInterval: mean ± t(0.975, n-1) · s / √n", () => {
  const values = [1, 2, 3, 4, 5];
  const i = meanInterval(values);
  assert.equal(i.mean, 3);
  assert.ok(Math.abs(i.std - Math.sqrt(2.5)) < 1e-12);
  // t(0.975, 4) = 2.776445 (tables of Student's t)
  const half = 2.776445 * (Math.sqrt(2.5) / Math.sqrt(5));
  assert.ok(Math.abs(i.low! - (3 - half)) < 1e-5 && Math.abs(i.high! - (3 + half)) < 1e-5);
  // a 90% interval is narrower: t(0.95, 4) = 2.131847
  const ninety = meanInterval(values, 0.9);
  assert.ok(Math.abs(ninety.high! - 3 - 2.131847 * (Math.sqrt(2.5) / Math.sqrt(5))) < 1e-5);
});

test("meanInterval: one run has no interval; no runs or a bad level is an error", () => {
  const one = meanInterval([0.8]);
  assert.deepEqual([one.n, one.mean, one.std, one.low, one.high], [1, 0.8, 0, null, null]);
  assert.throws(() => meanInterval([]), /no values/);
  assert.throws(() => meanInterval([1, 2], 1), /level must be in \(0, 1\)/);
});

test("pairedDifference: the seeds' shared variation cancels", () => {
  // b varies a lot between seeds, a - b hardly: the paired interval is narrow and above zero
  const b = [0.7, 0.8, 0.9, 0.75];
  const a = b.map((x, i) => x + 0.01 + 0.001 * i);
  const d = pairedDifference(a, b);
  assert.ok(Math.abs(d.mean - 0.0115) < 1e-12);
  assert.ok(d.low! > 0 && d.high! < 0.02, `[${d.low}, ${d.high}]`);
  const unpaired = meanInterval(a);
  assert.ok(unpaired.high! - unpaired.low! > 10 * (d.high! - d.low!));
  assert.throws(() => pairedDifference([1, 2], [1]), /2 values against 1/);
});
