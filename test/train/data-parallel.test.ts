import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { TINY_BN_MLP, TINY_MLP } from "./tiny-mlp.js";
import * as torch from "../../src/torch/index.js";
import { loadSafetensors } from "../../src/io/index.js";
import type { MemorySource } from "../../src/data/index.js";
import { readSidecar, train, type TrainConfig } from "../../src/train/index.js";
import { combineLosses } from "../../src/distill/index.js";
import { ShardedPartialFC } from "../../src/models/heads/index.js";
import type { ProcessGroup } from "../../src/torch/distributed.js";
import { syntheticSource } from "./synthetic.js";

torch.setNumThreads(1);
const WORKER = fileURLToPath(new URL("./data-parallel-worker.js", import.meta.url));
const children = new Set<ChildProcess>();
let root: string;
let source: MemorySource;

// 32 samples of 4 classes; momentum and weight decay so that the optimizer state matters on resume
function config(name: string, batchSize: number, model = TINY_MLP): TrainConfig {
  return {
    runDir: join(root, name),
    model: { name: model, options: { inputSize: 16, embeddingSize: 8 } },
    losses: [{ name: "arcface", options: { numClasses: 4, embeddingSize: 8, s: 16 } }],
    data: { path: "(memory)", workers: 0 },
    optimizer: { type: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
    // low enough to clip every step: on several ranks the norm includes every rank's slice of the centres
    clipGradNorm: 0.5,
    steps: 4,
    batchSize,
    seed: 3,
    threads: 1,
    checkpointEvery: 1,
    logEvery: 1,
    // the all_reduce starts during backward from the second step: the trainer's overlapped path (the refo and CLI
    // tests run the default, after backward)
    overlapGradients: true,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Trains `cfg` on `n` spawned ranks; resolves with rank 0's result. */
async function ranks(n: number, cfg: TrainConfig, stopAt?: number): Promise<{ step: number; finished: boolean }> {
  const port = await freePort();
  const runs = Array.from({ length: n }, (_, rank) => {
    const env = {
      ...process.env,
      ...{ RANK: String(rank), WORLD_SIZE: String(n), MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port) },
      FACEKD_DP_CONFIG: JSON.stringify(cfg),
      ...(stopAt !== undefined && { FACEKD_DP_STOP: String(stopAt) }),
    };
    const child = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (out += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (out += t));
    return new Promise<string>((resolve, reject) => {
      child.on("exit", (code) => {
        children.delete(child);
        if (code === 0) resolve(out);
        else reject(new Error(`rank ${rank} exited with ${code}:\n${out}`));
      });
    });
  });
  const outputs = await Promise.all(runs);
  return JSON.parse(/^RESULT (.*)$/m.exec(outputs[0]!)![1]!) as { step: number; finished: boolean };
}

/** The largest difference between two run folders' trained tensors (backbone and margin head), relative to values
 *  above 1 (a BatchNorm's running variance reaches the hundreds). */
function maxDifference(a: string, b: string): number {
  return torch.tidy(() => {
    let worst = 0;
    for (const file of ["model.safetensors", "head.safetensors"]) {
      const [x, y] = [loadSafetensors(join(a, file)).tensors, loadSafetensors(join(b, file)).tensors];
      assert.deepEqual([...x.keys()].sort(), [...y.keys()].sort());
      for (const [key, t] of x) {
        const scale = t.abs().to("float32").clampMin(1);
        worst = Math.max(worst, t.sub(y.get(key)!).abs().div(scale).max().item());
      }
    }
    return worst;
  });
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), "facekd-dp-"));
  source = await syntheticSource({ classes: 4, perClass: 8, size: 16 });
});

after(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

describe("data-parallel training", () => {
  test("on several ranks a margin loss's head is sharded: each rank holds its rows of the centres", () => {
    const group = { rank: 1, worldSize: 3 } as ProcessGroup;
    const loss = combineLosses([{ name: "arcface", options: { numClasses: 10, embeddingSize: 8 } }], { group });
    try {
      const head = loss.module.namedModules().find(([name]) => name === "arcface")?.[1];
      assert.ok(head instanceof ShardedPartialFC);
      assert.deepEqual([head.classStart, head.numLocal, head.weight.shape], [4, 3, [3, 8]]);
    } finally {
      loss.module.dispose();
    }
  });

  test("2 ranks of batch 4 train what 1 process of batch 8 does (centres split, clipped); resumes on 1 and 3 ranks", async () => {
    const quiet = { source, log: () => {} };
    const single = await train(config("single", 8), quiet);
    assert.equal(single.step, 4);

    // two ranks, interrupted at step 2: positions count global samples (2 steps x 8)
    const stopped = await ranks(2, config("two", 4), 2);
    assert.deepEqual([stopped.step, stopped.finished], [2, false]);
    const sidecar = readSidecar(join(root, "two", "checkpoints"), "last")!;
    assert.deepEqual([sidecar.step, sidecar.loader], [2, { epoch: 0, index: 16 }]);
    assert.equal(
      readFileSync(join(root, "two", "metrics.jsonl"), "utf8")
        .trim()
        .split("\n").length,
      2,
    );
    cpSync(join(root, "two"), join(root, "to-one"), { recursive: true });
    cpSync(join(root, "two"), join(root, "to-three"), { recursive: true });

    // resumed on 2 ranks, and on 1 process with the same global batch: both end where the single run did
    assert.equal((await ranks(2, config("two", 4))).step, 4);
    const unchanged = maxDifference(join(root, "single"), join(root, "two"));
    assert.ok(unchanged < 1e-5, `2 ranks x 4 against 1 x 8: max difference ${unchanged}`);
    assert.equal((await train(config("to-one", 8), quiet)).step, 4);
    const resumedAlone = maxDifference(join(root, "single"), join(root, "to-one"));
    assert.ok(resumedAlone < 1e-5, `2 ranks resumed on 1: max difference ${resumedAlone}`);

    // 3 ranks of 4 (global 12) from sample 16 of 32: one batch to 28, then epoch 1's first
    assert.equal((await ranks(3, config("to-three", 4))).step, 4);
    const last = readSidecar(join(root, "to-three", "checkpoints"), "last")!;
    assert.deepEqual([last.step, last.loader], [4, { epoch: 1, index: 12 }]);
    assert.ok(
      maxDifference(join(root, "single"), join(root, "to-three")) > 1e-4,
      "another global batch trains otherwise",
    );
  });

  test("with BatchNorm, 2 ranks x 4 train what 1 x 8 does with syncBatchNorm (running statistics too), not without", async () => {
    const quiet = { source, log: () => {} };
    await train(config("bn-single", 8, TINY_BN_MLP), quiet);
    await ranks(2, { ...config("bn-synced", 4, TINY_BN_MLP), syncBatchNorm: true });
    await ranks(2, config("bn-local", 4, TINY_BN_MLP));
    const synced = maxDifference(join(root, "bn-single"), join(root, "bn-synced"));
    assert.ok(synced < 1e-5, `SyncBatchNorm, 2 ranks x 4 against 1 x 8: max difference ${synced}`);
    const local = maxDifference(join(root, "bn-single"), join(root, "bn-local"));
    assert.ok(local > 1e-4, `per-rank statistics normalize otherwise: max difference ${local}`);
  });
});
