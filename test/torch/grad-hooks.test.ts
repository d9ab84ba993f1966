import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { ProcessGroup, TCPStore } from "../../src/torch/distributed.js";
import { BUCKET_BYTES, GradientSync } from "../../src/train/data-parallel.js";
import { freePort } from "../helpers/ranks.js";

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

test("overlapped gradient averaging refuses a step with two backward passes, naming the config key", async () => {
  const port = await freePort();
  using store = new TCPStore({ host: "127.0.0.1", port, isServer: true, worldSize: 1 });
  using group = ProcessGroup.gloo({ store, rank: 0, worldSize: 1 });
  const w = torch.keep(torch.tensor([1, 2], { requiresGrad: true }));
  const sync = new GradientSync(group, BUCKET_BYTES, true);
  const backward = () => torch.tidy(() => w.pow(2).sum().backward());
  backward();
  assert.equal(sync.sync([w], null), null); // the first step registers the hooks
  backward();
  assert.equal(sync.sync([w], null), null);
  assert.equal(sync.overlapped, 1, "the second step's bucket started during backward");
  backward();
  backward();
  assert.throws(() => sync.sync([w], null), /accumulated twice in one step.*set overlapGradients: false/);
  sync.close();
  w.dispose();
});
