import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../src/torch/index.js";
import { combineLosses, type LossSpec } from "../../src/distill/index.js";
import { createModel } from "../../src/models/index.js";
import { loadSafetensors } from "../../src/io/index.js";
import type { MemorySource } from "../../src/data/index.js";
import { readMetrics, resolveConfig, train, TrainingDivergedError, type TrainConfig } from "../../src/train/index.js";
import { loadCheckpoint, readSidecar, saveCheckpoint } from "../../src/train/checkpoint.js";
import { lossScaleGuard } from "../../src/train/listeners/loss-scale.js";
import { trainStep, type StepInputs } from "../../src/train/step.js";
import type { TrainLoop } from "../../src/train/events.js";
import { resolveRefoConfig } from "../../src/refo/index.js";
import { syntheticSource } from "./synthetic.js";

torch.setNumThreads(1);
const MODEL = { name: "mbf", options: { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 16 } };
const ARC: LossSpec = { name: "arcface", options: { numClasses: 4, embeddingSize: 16, s: 16 } };
const quiet = { log: () => {} };
let source: MemorySource;
let root: string;

function config(name: string, extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    runDir: join(root, name),
    model: MODEL,
    losses: [ARC],
    data: { path: "(memory)", workers: 0 },
    optimizer: { type: "sgd", lr: 0.05 },
    steps: 24,
    batchSize: 8,
    clipGradNorm: 5,
    seed: 3,
    threads: 1,
    checkpointEvery: 100,
    logEvery: 1,
    ...extra,
  };
}

const lossesOf = (name: string): number[] =>
  readMetrics(join(root, name, "metrics.jsonl")).map((r) => r.loss as number);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "facekd-precision-"));
  source = await syntheticSource({ classes: 4, perClass: 6 });
});
after(() => rmSync(root, { recursive: true, force: true }));

describe("mixed precision in the trainer", () => {
  test("bfloat16 autocast trains a tiny student like float32: the last 8 steps' mean loss within 10% of the first loss", async () => {
    await train(config("fp32", { device: "cpu" }), { source, ...quiet });
    const result = await train(config("bf16", { precision: "bfloat16" }), { source, ...quiet });
    assert.ok(result.finished);
    const [full, mixed] = [lossesOf("fp32"), lossesOf("bf16")];
    assert.equal(mixed.length, 24);
    assert.ok(mixed.every(Number.isFinite));
    // both learn: from ~10 to below 1 (per-step losses of batches of 8 are noisy, hence means over 8 steps)
    assert.ok(mean(mixed.slice(-8)) < 0.2 * mean(mixed.slice(0, 4)), mixed.join(" "));
    // bfloat16 keeps 8 mantissa bits: the trajectories part step by step, but end as low (measured: 0.55 float32,
    // 0.65 bfloat16 from 9.97; seed 4: 0.24 and 0.34 from 12.65)
    const [a, b] = [mean(full.slice(-8)), mean(mixed.slice(-8))];
    assert.ok(Math.abs(a - b) < 0.1 * full[0]!, `float32 ${a}, bfloat16 ${b}, first loss ${full[0]}`);
    assert.notDeepEqual(mixed, full, "autocast did change the arithmetic");
    const saved = torch.tidy(() => [...loadSafetensors(result.modelFile!).tensors.values()].map((t) => t.dtype));
    assert.ok(saved.includes("float32") && !saved.includes("bfloat16"), "master weights stay float32");
  });

  test("float16 on the CPU is a config error that says to use bfloat16; cuda without a CUDA libtorch says how to get one", async () => {
    assert.throws(
      () => resolveConfig(config("fp16", { precision: "float16" })),
      /precision float16 needs a CUDA device \(device: cuda\); on cpu use precision: bfloat16/,
    );
    assert.throws(() => resolveConfig(config("gpu", { device: "gpu0" })), /device must be 'cpu', 'cuda' or 'cuda:N'/);
    assert.throws(() => resolveRefoConfig({ precision: "float16" }), /precision float16 needs a CUDA device/);
    assert.equal(resolveRefoConfig({ precision: "bfloat16" }).device, "cpu");
    if (torch.cudaIsAvailable()) return;
    await assert.rejects(
      train(config("cuda", { device: "cuda:0" }), { source, ...quiet }),
      /device 'cuda:0': this libtorch \(.+\) has no CUDA: build the addon against a CUDA libtorch with LIBTORCH=/,
    );
    assert.throws(() => torch.deviceForLocalRank("cuda", 1), /no CUDA/);
    assert.equal(torch.deviceForLocalRank("cpu", 1), "cpu");
  });
});

describe("the loss scaler in a training step (float32 on the CPU: its math is device-independent)", () => {
  test("an overflowing step is skipped without an update and backs off; the scale and its growth count resume from a checkpoint", () => {
    torch.manualSeed(1);
    const model = createModel(MODEL.name, MODEL.options);
    const loss = combineLosses([ARC]);
    const params = [...model.parameters(), ...loss.module.parameters()];
    const optimizer = new torch.optim.SGD(params, { lr: 0.01 });
    const scaler = new torch.GradScaler({ initScale: 2 ** 16, growthInterval: 2 });
    let factor = 1;
    const step: StepInputs = {
      model,
      role: "student",
      loss: Object.assign(
        (ctx: Parameters<typeof loss>[0]) => {
          const out = loss(ctx);
          return { ...out, total: out.total.mul(factor) };
        },
        { module: loss.module, terms: loss.terms },
      ),
      optimizer,
      params,
      clipGradNorm: undefined,
      scaler,
    };
    const images = torch.keep(torch.randn([4, 3, 32, 32]));
    const labels = torch.keep(torch.tensor([0, 1, 2, 3], { dtype: "int64" }));
    const good = trainStep(step, images, { labels });
    assert.equal(good.problem, null);
    assert.equal(good.lossScale, 2 ** 16);
    const before = torch.tidy(() => params.map((p) => p.clone()).map(torch.keep));
    factor = 1e36; // finite loss, scaled gradients beyond float32
    const over = trainStep(step, images, { labels });
    assert.equal(over.overflow, true);
    assert.match(over.problem!, /overflowed at loss scale 65536; the scale is now 32768/);
    torch.tidy(() => params.forEach((p, i) => assert.ok(torch.equal(p, before[i]!), "no update")));
    assert.deepEqual(scaler.stateDict(), { scale: 2 ** 15, growthTracker: 0 });
    factor = 1;
    trainStep(step, images, { labels });

    const dir = join(root, "scaler-checkpoints");
    const scheduler = new torch.optim.StepLR(optimizer, { stepSize: 1000 });
    const state = { model, lossModule: loss.module, optimizer, scheduler, scaler };
    const info = { step: 3, modelSpec: model.spec, loader: { epoch: 0, index: 3 }, rng: { seed: 1, rule: "" } };
    saveCheckpoint(dir, state, { ...info, consecutiveBadSteps: 0 }, ["last"]);
    const sidecar = readSidecar(dir, "last")!;
    assert.deepEqual(sidecar.gradScaler, { scale: 2 ** 15, growthTracker: 1 });
    const resumed = new torch.GradScaler({ growthInterval: 2 });
    loadCheckpoint(dir, sidecar, { ...state, scaler: resumed });
    assert.deepEqual(resumed.stateDict(), scaler.stateDict());
    [images, labels, ...before].forEach((t) => t.dispose());
    model.dispose();
    loss.module.dispose();
    optimizer.dispose();
  });

  test("the loss-scale guard warns below 1 and stops the run, with what to do, below the minimum", () => {
    const scaler = new torch.GradScaler({ initScale: 4, backoff: 0.125 });
    const lines: string[] = [];
    const loop = { log: (l: string) => lines.push(l) } as unknown as TrainLoop;
    const guard = lossScaleGuard(scaler, 0.01, () => 40);
    const event = (step: number) => ({
      step,
      epoch: 0,
      images: 8,
      lr: 0.1,
      outcome: { value: 1, terms: {}, problem: "overflow", overflow: true },
      interval: null,
    });
    scaler.update(true); // 0.5
    guard.step!(event(41), loop);
    assert.match(lines.join("\n"), /loss scale fell to 0.5 at step 41\. Lower optimizer.lr.*bfloat16/);
    scaler.update(true); // 0.0625: still above
    guard.step!(event(42), loop);
    assert.equal(lines.length, 1, "warned once");
    scaler.update(true); // below 0.01
    assert.throws(
      () => guard.step!(event(43), loop),
      (error: Error) =>
        error instanceof TrainingDivergedError &&
        /collapsed to 0\.0078125 \(below 0\.01\).*checkpoint \(step 40\).*clipGradNorm.*bfloat16/.test(error.message),
    );
  });
});
