import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../src/torch/index.js";
import { loadSafetensors } from "../../src/io/index.js";
import { defineLoss, type LossSpec } from "../../src/distill/index.js";
import { createModel, loadBackbone } from "../../src/models/index.js";
import { RecWriter, type MemorySource } from "../../src/data/index.js";
import {
  intrinsicDimensionListener,
  readMetrics,
  readSidecar,
  train,
  TrainingDivergedError,
  type IdRecord,
  type MetricsRecord,
  type StepEvent,
  type TrainConfig,
  type TrainLoop,
} from "../../src/train/index.js";
import type { MetricsLog } from "../../src/train/metrics.js";
import { resolveConfig } from "../../src/train/config.js";
import { checkTrainConfig } from "../../src/train/preflight.js";
import { syntheticSource } from "./synthetic.js";

torch.setNumThreads(1); // a second thread only contends on a busy 2-core machine
// dropout makes every step draw from libtorch's generator, which resuming must reproduce
const MODEL = { name: "mbf", options: { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 16, dropout: 0.2 } };
const quiet = { log: () => {} };
let source: MemorySource;
let root: string;

// a loss that is NaN at chosen calls (counted from 1), for the guard; 0 elsewhere plus the embedding's mean square
let nanCalls = new Set<number>();
let calls = 0;
defineLoss({
  name: "test-nan",
  summary: "test only",
  kind: "embedding",
  reads: ["embedding"],
  options: z.object({}),
  create: () => (ctx) => {
    calls += 1;
    const e = ctx.student!.embedding!;
    return nanCalls.has(calls) ? e.square().mean().mul(NaN) : e.square().mean();
  },
});

const ARC: LossSpec = { name: "arcface", options: { numClasses: 4, embeddingSize: 16, s: 16, sampleRate: 0.75 } };

function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    runDir: join(root, name),
    model: MODEL,
    losses: [ARC],
    data: { path: "(memory)", workers: 0 },
    optimizer: { type: "sgd", lr: 0.05 },
    steps: 6,
    batchSize: 8,
    clipGradNorm: 5,
    seed: 7,
    threads: 1,
    checkpointEvery: 2,
    logEvery: 1,
    ...extra,
  };
}

const lossesOf = (runDir: string): number[] =>
  readMetrics(join(runDir, "metrics.jsonl"))
    .filter((r) => typeof r.loss === "number")
    .map((r) => r.loss as number);

before(async () => {
  root = mkdtempSync(join(tmpdir(), "facekd-train-"));
  source = await syntheticSource({ classes: 4, perClass: 6 }); // 24 samples: 3 batches of 8 per epoch
});
after(() => rmSync(root, { recursive: true, force: true }));

describe("train", () => {
  test("a run stopped and resumed gives the uninterrupted run's loss sequence exactly", async () => {
    const whole = await train(config("whole"), { source, ...quiet });
    assert.equal(whole.step, 6);
    assert.ok(whole.finished);
    const stopped = await train(config("resumed"), { source, stopAt: 5, ...quiet }); // mid-epoch, off the checkpoint grid
    assert.equal(stopped.finished, false);
    assert.equal(readSidecar(join(root, "resumed", "checkpoints"), "last")!.step, 5);
    const resumed = await train(config("resumed"), { source, ...quiet });
    assert.ok(resumed.finished);
    const expected = lossesOf(join(root, "whole"));
    assert.equal(expected.length, 6);
    assert.deepEqual(lossesOf(join(root, "resumed")), expected);
    // and the final weights agree
    const [a, b] = ["whole", "resumed"].map((n) =>
      loadBackbone(MODEL.name, join(root, n, "model.safetensors"), MODEL.options),
    );
    torch.tidy(() => {
      for (const [key, t] of a!.stateDict()) assert.ok(torch.equal(t, b!.stateDict().get(key)!), key);
    });
  });

  test("metrics.jsonl has one well-formed record per step with the loss terms, lr and img/s", () => {
    const records = readMetrics(join(root, "whole", "metrics.jsonl"));
    assert.deepEqual(
      records.map((r) => r.step),
      [1, 2, 3, 4, 5, 6],
    );
    for (const r of records) {
      assert.ok(Number.isFinite(r.loss));
      assert.deepEqual(Object.keys(r.terms as object), ["arcface"]);
      assert.ok((r.lr as number) >= 0 && (r.lr as number) <= 0.05);
      assert.ok((r.imagesPerSecond as number) > 0);
    }
    assert.equal(records[0]!.lr, 0.05); // polynomial decay from the configured lr
    assert.ok((records[5]!.lr as number) < (records[1]!.lr as number));
  });

  test("a checkpoint holds the model, the head, the optimizer, the schedule, the seed and the loader position", () => {
    const dir = join(root, "whole", "checkpoints");
    const last = readSidecar(dir, "last")!;
    assert.equal(last.step, 6);
    assert.deepEqual(last.loader, { epoch: 2, index: 0 }); // 6 batches of 8 in epochs of 3 batches
    assert.equal(last.rng.seed, 7);
    assert.equal(last.scheduler.lastStep, 6);
    assert.equal(last.optimizer.type, "SGD");
    assert.deepEqual(readdirSync(dir).sort(), ["last.json", "step-00000006.safetensors"]);
    const keys = torch.tidy(() => [...loadSafetensors(join(dir, last.tensors)).tensors.keys()]);
    assert.ok(keys.some((k) => k.startsWith("model.layers.")));
    assert.ok(keys.some((k) => k.startsWith("model.") && k.endsWith("num_batches_tracked")));
    assert.ok(keys.includes("loss.arcface.weight"));
    assert.ok(keys.some((k) => /^optimizer\.state\.\d+\.momentum_buffer$/.test(k)));
    assert.ok(existsSync(join(root, "whole", "model.safetensors")));
    assert.equal(JSON.parse(readFileSync(join(root, "whole", "config.json"), "utf8")).seed, 7);
  });

  test("a run folder with a run in it is refused when resume is off", async () => {
    await assert.rejects(train(config("whole"), { source, resume: false, ...quiet }), /already holds a run/);
  });

  test("a non-finite loss skips the step with a warning; K in a row stop the run and keep the last good checkpoint", async () => {
    const lines: string[] = [];
    const nanConfig = config("nan", { losses: [{ name: "test-nan" }], maxBadSteps: 3, steps: 5 });
    calls = 0;
    nanCalls = new Set([2]); // one bad step: skipped, the run goes on
    const ok = await train(nanConfig, { source, log: (l) => lines.push(l) });
    assert.ok(ok.finished);
    assert.ok(
      lines.some((l) => /step 2 skipped: the loss is NaN/.test(l)),
      lines.join("\n"),
    );
    const records = readMetrics(join(root, "nan", "metrics.jsonl"));
    assert.equal(records.find((r) => r.step === 2)!.skipped, "the loss is NaN");
    assert.equal(records.filter((r) => typeof r.loss === "number").length, 4);

    calls = 0;
    nanCalls = new Set([3, 4, 5]); // three in a row after the checkpoint at step 2
    const runDir = join(root, "nan-stop");
    await assert.rejects(
      train({ ...nanConfig, runDir }, { source, ...quiet }),
      (e: Error) =>
        e instanceof TrainingDivergedError &&
        /stopped at step 5: 3 consecutive/.test(e.message) &&
        /step 2\)/.test(e.message),
    );
    const last = readSidecar(join(runDir, "checkpoints"), "last")!;
    assert.equal(last.step, 2);
    assert.ok(existsSync(join(runDir, "checkpoints", last.tensors)));
    assert.ok(!existsSync(join(runDir, "model.safetensors")));
  });

  test("the evaluation hook runs periodically and marks the best checkpoint", async () => {
    const scores = [0.5, 0.9, 0.7];
    const seen: number[] = [];
    const result = await train(config("eval", { steps: 6 }), {
      source,
      ...quiet,
      evaluate: {
        every: 2,
        metric: "acc",
        run: (model, step) => {
          assert.equal(model.training, false);
          seen.push(step);
          return { acc: scores[seen.length - 1]! };
        },
      },
    });
    assert.deepEqual(seen, [2, 4, 6]);
    assert.deepEqual(result.best, { metric: "acc", value: 0.9, step: 4 });
    const dir = join(root, "eval", "checkpoints");
    assert.equal(readSidecar(dir, "best")!.step, 4);
    assert.equal(readSidecar(dir, "last")!.step, 6);
    assert.deepEqual(
      readdirSync(dir)
        .filter((n) => n.endsWith(".safetensors"))
        .sort(),
      ["step-00000004.safetensors", "step-00000006.safetensors"],
    );
  });

  test("metrics.idEvery: the ID of a fixed sample every K steps and at the end, without disturbing training", async () => {
    const runDir = join(root, "id");
    const result = await train(config("id", { metrics: { idEvery: 4, idSample: 24 } }), { source, ...quiet });
    assert.ok(result.finished);
    const records = readMetrics(join(runDir, "metrics.jsonl")).filter((r) => r.id !== undefined);
    assert.deepEqual(
      records.map((r) => r.step),
      [4, 6],
    );
    for (const { id } of records) {
      const { mean, low, high, sampleSize } = id as IdRecord;
      assert.ok(low < mean && mean < high && mean > 0, JSON.stringify(id));
      assert.equal(sampleSize, 24);
    }
    // eval mode draws nothing from the generator: the losses are the untracked run's
    assert.deepEqual(lossesOf(runDir), lossesOf(join(root, "whole")));
  });

  test("metrics.idData: the ID sample comes from that dataset instead of the training data", async () => {
    const pack = join(root, "id-data", "id.rec");
    mkdirSync(join(root, "id-data"));
    const writer = new RecWriter(pack, { layout: "idx-only" });
    for (let i = 0; i < 22; i++) writer.add(source.read(i).image, -1);
    writer.close();
    const runDir = join(root, "id-data-run");
    const tracked = config("id-data-run", { metrics: { idEvery: 6, idSample: 1000, idData: pack } });
    assert.ok((await train(tracked, { source, ...quiet })).finished);
    const records = readMetrics(join(runDir, "metrics.jsonl")).filter((r) => r.id !== undefined);
    assert.deepEqual(
      records.map((r) => (r.id as IdRecord).sampleSize),
      [22],
      "the 22 records of the pack, not the 24 of the training data",
    );
  });

  test("checkTrainConfig names metrics.idData when it names no dataset", () => {
    const resolved = resolveConfig(
      config("missing-id-data", { metrics: { idEvery: 6, idData: join(root, "nope.rec") } }),
    );
    assert.throws(() => checkTrainConfig(resolved), /metrics\.idData .*nope\.rec does not exist/);
  });

  test("the ID listener embeds in eval mode and puts the model back in training mode", async () => {
    const model = createModel(MODEL.name, MODEL.options);
    model.train();
    const lines: MetricsRecord[] = [];
    const modes: boolean[] = [];
    const listener = intrinsicDimensionListener(
      {
        every: 3,
        seed: 0,
        embed: async (m) => {
          modes.push(m.training);
          return torch.randn([50, 6]);
        },
      },
      { append: (r: MetricsRecord) => void lines.push(r) } as MetricsLog,
    );
    const loop = { model, step: 0, consecutiveBadSteps: 0 } as unknown as TrainLoop;
    for (let step = 1; step <= 7; step++) {
      (loop as { step: number }).step = step;
      await listener.step!({ step } as StepEvent, loop);
    }
    await listener.end!({ step: 7, finished: true }, loop);
    assert.deepEqual(modes, [false, false, false]);
    assert.equal(model.training, true);
    assert.deepEqual(
      lines.map((r) => r.step),
      [3, 6, 7],
    );
    model.dispose();
  });

  test("a live frozen teacher feeds the losses, and epochs set the length", async () => {
    const teacherFile = join(root, "whole", "model.safetensors");
    const result = await train(
      config("live", {
        losses: [{ name: "embedding", weight: 5 }],
        teacher: { ...MODEL, init: teacherFile },
        steps: undefined,
        epochs: 1,
      }),
      { source, ...quiet },
    );
    assert.equal(result.totalSteps, 3); // 24 samples in batches of 8
    const losses = lossesOf(join(root, "live"));
    assert.equal(losses.length, 3);
    assert.ok(losses.every((l) => l > 0 && Number.isFinite(l))); // the 'embedding' loss throws without a teacher
  });
});
