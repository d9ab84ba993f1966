import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

test("withNumThreads sets the intra-op threads for its function and restores them after it, thrown or awaited", async () => {
  const before = torch.getNumThreads();
  const other = before === 1 ? 2 : 1;
  assert.equal(
    torch.withNumThreads(other, () => torch.getNumThreads()),
    other,
  );
  assert.equal(torch.getNumThreads(), before);
  assert.throws(
    () =>
      torch.withNumThreads(other, () => {
        throw new Error("inside");
      }),
    /inside/,
  );
  assert.equal(torch.getNumThreads(), before);
  const seen = await torch.withNumThreads(other, async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return torch.getNumThreads();
  });
  assert.equal(seen, other, "still set after an await inside");
  assert.equal(torch.getNumThreads(), before);
  await assert.rejects(
    torch.withNumThreads(other, async () => Promise.reject(new Error("later"))),
    /later/,
  );
  assert.equal(torch.getNumThreads(), before);
});
