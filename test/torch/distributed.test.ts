import { after, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ProcessGroup, TCPStore, initProcessGroup } from "../../src/torch/distributed.js";
import {
  TEST_TIMEOUT_MS,
  freePort,
  killAllWorkers,
  rankEnvs,
  resultOf,
  runWorkers as runRanks,
} from "../helpers/ranks.js";

const WORKER = fileURLToPath(new URL("./distributed-worker.js", import.meta.url));
const runWorkers = (scenario: string, envs: Record<string, string>[]) => runRanks(WORKER, scenario, envs);
after(killAllWorkers);

test("two Gloo ranks allReduce, broadcast and barrier", { timeout: TEST_TIMEOUT_MS }, async () => {
  const exits = await runWorkers("collectives", rankEnvs(2, await freePort()));
  const results = exits.map(resultOf);
  for (const [rank, r] of results.entries()) {
    assert.equal(r.rank, rank);
    assert.equal(r.worldSize, 2);
    assert.deepEqual(r.sum, [3, 30, -1]); // [1, 10, 0] + [2, 20, -1]
    assert.deepEqual(r.max, [5, 7]);
    assert.deepEqual(r.min, [2, -1]);
    assert.deepEqual(r.product, [6, 12]); // [2, 3] * [3, 4]
    assert.deepEqual(r.avg, [1, 4, 1]); // ([0, 4, 0.5] + [2, 4, 1.5]) / 2
    assert.deepEqual(r.avgLeaf, [1, 2]); // ([0, 2] + [2, 2]) / 2, on a leaf that requires grad
    assert.deepEqual(r.intSum, [3, 200]);
    assert.equal(r.intSumDtype, "int64");
    assert.deepEqual(r.broadcast, [1, 107]); // rank 1's [1, 107]
    const errors = r.errors as Record<string, string>;
    assert.match(errors.nonContiguous!, /contiguous.*t\.contiguous\(\)/);
    assert.match(errors.avgOfInts!, /'avg' needs a floating-point tensor, this one is int32/);
    assert.match(errors.badOp!, /op must be one of sum, product, min, max, avg, got mean/);
    assert.match(errors.badRoot!, /root must be an integer in \[0, 1\], got 2/);
  }
});

test(
  "two Gloo ranks allGather and gather, and allGatherWithGrad sums the gradients",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const exits = await runWorkers("gather", rankEnvs(2, await freePort()));
    for (const [rank, r] of exits.map(resultOf).entries()) {
      assert.deepEqual(r.list, [
        [0, 10],
        [1, 11],
      ]); // rank r sent [r, r + 10]
      assert.deepEqual(r.intoShape, [4, 3]); // two [2, 3] int64 tensors, stacked along dim 0
      assert.deepEqual(r.into, [0, 1, 2, 3, 4, 5, 100, 101, 102, 103, 104, 105]);
      assert.equal(r.intoDtype, "int64");
      assert.deepEqual(r.gathered, rank === 1 ? [0, 0.5, 1, 1.5] : null); // to root 1 only
      assert.deepEqual(r.withGrad, [1, 2, 2, 4]); // rank r sent (r + 1) * [1, 2]
      assert.equal(r.requiresGrad, true);
      // each rank's loss is sum(gathered * w_r * g), w_0 = [1, 2, 3, 4], w_1 = 2 w_0, g = gathered: d/dx_r sums
      // 2 * (w_0 + w_1)[slice r] * gathered[slice r] over both ranks' losses
      assert.deepEqual(r.grad, rank === 0 ? [6, 24] : [36, 96]);
      assert.deepEqual(r.plainRequiresGrad, false); // allGatherIntoTensor is outside autograd
      const errors = r.errors as Record<string, string>;
      assert.match(errors.scalar!, /allGather: ranks' tensors are concatenated along dim 0, a 0-d tensor has none/);
      assert.match(errors.badRoot!, /gather: root must be an integer in \[0, 1\], got 2/);
      assert.match(errors.nonContiguous!, /allGatherWithGrad: the Gloo backend needs a contiguous tensor/);
    }
  },
);

test(
  "gradient averaging overlapped with backward gives the average of both ranks' gradients",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const exits = await runWorkers("overlap", rankEnvs(2, await freePort()));
    for (const r of exits.map(resultOf)) {
      type Step = { problem: string | null; grads: number[][]; expected: number[][] };
      for (const [step, { problem, grads, expected }] of (r.steps as Step[]).entries()) {
        assert.equal(problem, null);
        grads.forEach((g, i) =>
          g.forEach((v, k) => assert.ok(Math.abs(v - expected[i]![k]!) < 1e-5, `step ${step}, parameter ${i}: ${v}`)),
        );
      }
      // the first step registers the hooks. Buckets (16 bytes): [w4, w3], [w2], [w1]. In the next two steps rank 0
      // starts all three during backward; rank 1 none, as the first holds w4, which has no gradient there, and
      // buckets start in order
      assert.equal(r.overlapped, r.rank === 0 ? 6 : 0);
    }
  },
);

test("a TCPStore set in one process is read in another", { timeout: TEST_TIMEOUT_MS }, async () => {
  const exits = await runWorkers("store", rankEnvs(2, await freePort()));
  const [r0, r1] = exits.map(resultOf);
  assert.deepEqual(r1, { rank: 1, got: "hello from rank 0 ✓" });
  assert.deepEqual(r0, { rank: 0, got: "rank 1 read: hello from rank 0 ✓" });
});

test("a bad RANK from the environment fails with a clear error", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = { ...rankEnvs(2, await freePort())[0]!, RANK: "2" };
  const [exit] = await runWorkers("init", [env]);
  assert.notEqual(exit!.code, 0);
  assert.match(exit!.stderr, /initProcessGroup: rank must be an integer in \[0, 1\], got 2/);
  assert.doesNotMatch(exit!.stdout, /RESULT/);
});

test("bad arguments are rejected before anything connects", () => {
  const base = { masterAddr: "127.0.0.1", masterPort: 29500 };
  assert.throws(() => initProcessGroup({ ...base, rank: 2, worldSize: 2 }), {
    name: "RangeError",
    message: /rank must be an integer in \[0, 1\], got 2; ranks number the 2 process\(es\) from 0/,
  });
  assert.throws(() => initProcessGroup({ ...base, rank: -1, worldSize: 2 }), /rank must be an integer/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0.5, worldSize: 2 }), /rank must be an integer/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0, worldSize: 0 }), /worldSize must be an integer in \[1,/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0, worldSize: 1, masterPort: 70000 }), {
    name: "RangeError",
    message: /port must be an integer in \[1, 65535\], got 70000/,
  });
  assert.throws(
    () => new TCPStore({ host: "127.0.0.1", port: 0, isServer: true, worldSize: 1 }),
    /TCPStore: port must be an integer in \[1, 65535\], got 0/,
  );
  assert.throws(
    () => new TCPStore({ host: "", port: 29500, isServer: true, worldSize: 1 }),
    /TCPStore: host must be a non-empty host name/,
  );
  assert.throws(
    () => ProcessGroup.gloo({ store: {} as TCPStore, rank: 0, worldSize: 1 }),
    /ProcessGroup.gloo: store must be a TCPStore/,
  );
});

test("initProcessGroup names the missing environment variable", () => {
  const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE, MASTER_PORT: process.env.MASTER_PORT };
  try {
    delete process.env.WORLD_SIZE;
    assert.throws(() => initProcessGroup({ rank: 0 }), /worldSize was not given and the WORLD_SIZE environment/);
    process.env.WORLD_SIZE = "2";
    process.env.RANK = "one";
    assert.throws(() => initProcessGroup({ masterAddr: "127.0.0.1", masterPort: 1 }), /RANK .* integer, got 'one'/);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
