import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { ArcFace, PartialFC, ShardedPartialFC, classShard } from "../../src/models/heads/index.js";
import { TEST_TIMEOUT_MS, freePort, killAllWorkers, rankEnvs, resultOf, runWorkers } from "../helpers/ranks.js";

const WORKER = fileURLToPath(new URL("./sharded-partial-fc-worker.js", import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), "facekd-pfc-"));
const FILE = path.join(dir, "full.safetensors"); // written by the 2-rank test, read by the 3-rank one
after(() => {
  killAllWorkers();
  rmSync(dir, { recursive: true, force: true });
});

async function ranks(scenario: string, worldSize: number): Promise<Record<string, unknown>[]> {
  const envs = rankEnvs(worldSize, await freePort()).map((env) => ({ ...env, FACEKD_PFC_FILE: FILE }));
  return (await runWorkers(WORKER, scenario, envs)).map(resultOf);
}

const head = (numClasses: number, options: { sampleRate?: number } = {}) =>
  new ShardedPartialFC({ margin: new ArcFace(), embeddingSize: 4, numClasses, ...options }, null);

test("classes split as arcface_torch: the first numClasses % worldSize ranks hold one more", () => {
  assert.deepEqual(
    [0, 1, 2].map((r) => classShard(11, 3, r)),
    [
      { start: 0, count: 4 },
      { start: 4, count: 4 },
      { start: 8, count: 3 },
    ],
  );
  assert.deepEqual(
    [0, 1].map((r) => classShard(10, 2, r)),
    [
      { start: 0, count: 5 },
      { start: 5, count: 5 },
    ],
  );
  for (const [n, w] of [
    [85742, 8],
    [1_000_000, 64],
    [7, 7],
  ] as const) {
    const shards = Array.from({ length: w }, (_, r) => classShard(n, w, r));
    assert.equal(
      shards.reduce((s, x) => s + x.count, 0),
      n,
    ); // the shards add up to the class count
    for (let r = 1; r < w; r++) assert.equal(shards[r]!.start, shards[r - 1]!.start + shards[r - 1]!.count);
  }
});

test("on one process it is the unsharded Partial FC: same loss and gradients", () => {
  torch.tidy(() => {
    torch.manualSeed(2);
    const sharded = head(13);
    const plain = new PartialFC({ margin: new ArcFace(), embeddingSize: 4, numClasses: 13 });
    torch.noGrad(() => plain.weight.copy_(sharded.weight));
    const x = torch.randn([6, 4]).requiresGrad_(true);
    const y = x.detach().clone().requiresGrad_(true);
    const labels = torch.tensor([0, 3, 12, 5, 5, 7], { dtype: "int64" });
    const loss = sharded.forward(x, labels);
    const expected = plain.forward(y, labels);
    loss.backward();
    expected.backward();
    // to 1e-5 of the largest value (float32 rounding grows with the values: centre gradients reach ~900 here)
    const close = (a: torch.Tensor, b: torch.Tensor) => a.sub(b).abs().max().item() <= 1e-5 * b.abs().max().item();
    assert.ok(close(loss, expected), `${loss.item()} vs ${expected.item()}`);
    assert.ok(close(sharded.weight.grad!, plain.weight.grad!));
    assert.ok(close(x.grad!, y.grad!));
    // normal(0, 0.01) centres
    assert.ok(Math.abs(head(2000).weight.std().item() - 0.01) < 5e-4);
  });
});

test("sampling keeps the positives, fills up to numSample and repeats for a seed", () => {
  torch.tidy(() => {
    const x = torch.randn([4, 4]);
    torch.manualSeed(1);
    const h = head(50, { sampleRate: 0.1 });
    assert.equal(h.numSample, 5);
    const labels = torch.tensor([49, 2, 2, 30], { dtype: "int64" });
    const { classes, targets, logits } = h.logits(x, labels);
    const picked = classes.toNumbers();
    assert.equal(picked.length, 5);
    assert.deepEqual(
      picked,
      [...picked].sort((p, q) => p - q),
    );
    for (const c of [49, 2, 30]) assert.ok(picked.includes(c), `class ${c} missing from ${picked}`);
    assert.deepEqual(
      targets.toNumbers().map((t) => picked[t]),
      [49, 2, 2, 30],
    );
    assert.deepEqual(logits.shape, [4, 5]);
    torch.manualSeed(1);
    const again = head(50, { sampleRate: 0.1 }).logits(x, labels).classes.toNumbers();
    assert.deepEqual(again, picked); // same seed, same draws
    const next = h.logits(x, labels).classes.toNumbers();
    assert.notDeepEqual(next, picked); // the next step samples other negatives
    // more positives than numSample: all kept
    const many = h.logits(torch.randn([8, 4]), torch.tensor([1, 3, 5, 7, 9, 11, 13, 15], { dtype: "int64" }));
    assert.deepEqual(many.classes.toNumbers(), [1, 3, 5, 7, 9, 11, 13, 15]);
    h.eval();
    assert.equal(h.logits(x, labels).classes.numel(), 50); // no sampling in eval mode
  });
});

test("bad inputs fail with errors that name the problem", () => {
  torch.tidy(() => {
    const h = head(10);
    assert.throws(
      () => h.forward(torch.randn([2, 3]), torch.tensor([0, 1], { dtype: "int64" })),
      /embeddings must be \[N, 4\]/,
    );
    assert.throws(() => h.forward(torch.randn([2, 4]), torch.tensor([0, 1])), /labels must be int64 \[2\]/);
    assert.throws(
      () => h.forward(torch.randn([2, 4]), torch.tensor([0, 10], { dtype: "int64" })),
      /rank 0's labels must lie in \[0, 10\), got values from 0 to 10/,
    );
    assert.throws(
      () => h.shardOf(torch.zeros([9, 4])),
      /shardOf: the full tensor must have 10 rows .*classes 0\.\.9 of 10/,
    );
    assert.throws(() => h.loadFullState(new Map()), /the state has no 'weight'/);
    const other = new torch.optim.SGD([new torch.nn.Parameter(torch.zeros([1]))], { lr: 1 });
    assert.throws(() => h.fullState(other), /the optimizer does not hold this head's weight/);
  });
  assert.throws(() => head(10, { sampleRate: 0 }), /ShardedPartialFC: sampleRate must be in \(0, 1\], got 0/);
});

test(
  "on 2 ranks: the same loss, gradients and SGD-updated centres as the unsharded head",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const results = await ranks("twoRanks", 2);
    assert.deepEqual(
      results.map((r) => [r.classStart, r.numLocal]),
      [
        [0, 6],
        [6, 5],
      ],
    );
    for (const r of results) {
      for (const [loss, expected] of r.losses as number[][]) {
        assert.ok(
          Math.abs(loss! - expected!) <= 1e-5 * Math.max(1, Math.abs(expected!)),
          `loss ${loss} vs ${expected}`,
        );
      }
      // differences relative to the reference's largest entry
      for (const d of r.gradDiffs as number[]) assert.ok(d < 1e-5, `embedding gradient off by ${d}`);
      const s = r.sampling as Record<string, number[] | number>;
      const classes = s.classes as number[];
      const [start, end] = r.rank === 0 ? [0, 20] : [20, 40];
      const positives = [3, 21, 39, 0, 17, 22, 2].filter((c) => c >= start && c < end); // both ranks' labels
      for (const c of classes) assert.ok(c >= start && c < end, `rank ${r.rank} sampled class ${c} of another shard`);
      for (const c of positives) assert.ok(classes.includes(c), `rank ${r.rank} dropped positive ${c}: ${classes}`);
      assert.equal(classes.length, Math.max(s.numSample as number, positives.length));
      assert.deepEqual(new Set(classes).size, classes.length);
      // each gathered row's target column holds its class when this rank has it, -1 otherwise
      const gathered = [3, 3, 21, 39, 0, 17, 22, 2];
      assert.deepEqual(
        (s.targets as number[]).map(
          (t, i) => (t < 0 ? -1 : classes[t]) === (gathered[i]! >= start && gathered[i]! < end ? gathered[i] : -1),
        ),
        gathered.map(() => true),
      );
      assert.deepEqual(s.sameSeedClasses, classes);
      assert.notDeepEqual(s.secondClasses, classes);
      assert.ok(Number.isFinite(s.loss));
    }
    assert.equal((results[0]!.sampling as { loss: number }).loss, (results[1]!.sampling as { loss: number }).loss);
    const eq = results[0]!.equivalence as { weightDiff: number; momentumDiff: number; keys: string[] };
    assert.deepEqual(eq.keys, ["weight", "momentum_buffer"]);
    assert.ok(eq.weightDiff < 1e-5, `centres after 2 SGD steps off by ${eq.weightDiff}`);
    assert.ok(eq.momentumDiff < 1e-5, `momentum off by ${eq.momentumDiff}`);
    assert.equal(results[1]!.equivalence, null); // gathered to rank 0 only
    assert.equal(results[0]!.initDiff, 0); // the same seed draws the same centres on 2 ranks as on 1
  },
);

test(
  "full centres gathered from 2 ranks load into 3 ranks' shards as the same rows",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const results = await ranks("threeRanks", 3);
    assert.deepEqual(
      results.map((r) => [r.classStart, r.numLocal]),
      [
        [0, 4],
        [4, 4],
        [8, 3],
      ],
    );
    for (const r of results) {
      assert.equal(r.weightDiff, 0);
      assert.equal(r.momentumDiff, 0);
    }
    assert.deepEqual(results[0]!.roundTrip, { weight: 0, momentum: 0 });
    assert.equal(results[1]!.roundTrip, null);
  },
);
