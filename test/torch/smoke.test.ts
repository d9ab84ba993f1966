import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

test("a tensor round-trips its data", () => {
  const t = torch.tensor([
    [1, 2],
    [3, 4],
  ]);
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual(t.toNumbers(), [1, 2, 3, 4]);
});
