// The evaluate stage runs every measurement of a model on one inference model: a backbone's in-memory ONNX export
// is opened once (its distillation error's teacher, another model, once more), and the numbers are those of the
// separate calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../src/torch/index.js";
import { createModel, OnnxTeacher, saveBackbone } from "../../src/models/index.js";
import { saveSafetensors } from "../../src/io/index.js";
import { embedImages, verifyModelOnPack } from "../../src/infer/index.js";
import { openDataset, Rng } from "../../src/data/index.js";
import { intrinsicDimension, sampleIndices } from "../../src/analysis/index.js";
import { headFile, loadRunModel, modelFile, runPaths, type StageContext } from "../../src/refo/context.js";
import { resolveRefoConfig } from "../../src/refo/config.js";
import { planStages } from "../../src/refo/plan.js";
import { StageFolders } from "../../src/refo/stage-state.js";
import { runDataStage } from "../../src/refo/stages/data-stage.js";
import { runEvaluateStage } from "../../src/refo/stages/evaluate-stage.js";
import { TINY_RUN, TINY_SYNTHETIC } from "./tiny-synthetic.js";

// onnxruntime asked for: at the tiny run's batch of 16, auto would keep the models in libtorch
const TINY = {
  ...TINY_RUN,
  name: "tiny-evaluate",
  seed: 1,
  evaluation: { ...TINY_RUN.evaluation, backend: "onnxruntime" },
};

/** Counts the onnxruntime sessions opened from bytes (the in-memory exports) while `use` runs. */
async function countingSessions<T>(use: () => Promise<T>): Promise<{ value: T; sessions: number }> {
  const original = OnnxTeacher.fromBytes.bind(OnnxTeacher);
  let sessions = 0;
  OnnxTeacher.fromBytes = (...args) => {
    sessions += 1;
    return original(...args);
  };
  try {
    return { value: await use(), sessions };
  } finally {
    OnnxTeacher.fromBytes = original;
  }
}

test("the evaluate stage opens one onnxruntime session per model and gives the separate calls' numbers", async () => {
  torch.setNumThreads(1);
  const root = mkdtempSync(join(tmpdir(), "facekd-evaluate-stage-"));
  try {
    const config = resolveRefoConfig({ ...TINY, runDir: root });
    const ctx: StageContext = {
      config,
      paths: runPaths(config, root),
      folders: new StageFolders(root),
      numClasses: TINY_SYNTHETIC.synthetic.identities,
      log: () => undefined,
      progress: () => ({ update: () => undefined, stop: () => undefined }),
    };
    await runDataStage(ctx);
    const stages = planStages(config, ctx.numClasses);
    const stage = (id: string) => stages.find((s) => s.id === id)!;
    torch.manualSeed(3);
    for (const id of ["teacher-standard", "student-labels"]) {
      const { architecture } = (stage(id).spec as { model: { architecture: string } }).model;
      const model = createModel(architecture, { embeddingSize: 16 });
      mkdirSync(ctx.folders.dir(id), { recursive: true });
      saveBackbone(modelFile(ctx, id), model);
      model.dispose();
    }
    torch.tidy(() =>
      saveSafetensors(headFile(ctx, "teacher-standard"), new Map([["head.weight", torch.randn([4, 16])]])),
    );

    const evaluate = (id: string) => {
      const { spec } = stage(`eval.${id}`);
      assert.equal(spec.kind, "evaluate");
      return countingSessions(async () => (await runEvaluateStage(ctx, `eval.${id}`, spec, stage(id)))!);
    };
    const teacher = await evaluate("teacher-standard");
    assert.equal(teacher.sessions, 1, "pair protocol, D1 sample and throughput share one session");
    const student = await evaluate("student-labels");
    assert.equal(student.sessions, 2, "the student's session, and its teacher's for the distillation error");
    assert.ok(student.value.distillationError !== null && student.value.imagesPerSecond! > 0);

    // the same numbers as each measurement opening its own session, as the stage did before
    const model = loadRunModel(ctx, "mbf-w0.5@32", modelFile(ctx, "teacher-standard"));
    try {
      const { flipSum, batchSize, idSample, idRepetitions, backend } = config.evaluation;
      const pack = ctx.paths.verification[0]!;
      const alone = await verifyModelOnPack(model, pack.path, { flipSum, batchSize, workers: 0, backend });
      const summary = teacher.value.verification[pack.name]!;
      assert.equal(summary.accuracy, alone.accuracy);
      assert.equal(summary.auc, alone.roc.auc);
      assert.deepEqual(summary.roc.tar, alone.roc.curve.tar);
      // the ID on the synthetic ID set: one photo each of identities outside D1
      assert.ok(ctx.paths.idSet !== null);
      const source = openDataset(ctx.paths.idSet);
      assert.equal(source.length, TINY_SYNTHETIC.synthetic.idIdentities);
      const indices = sampleIndices(source.length, idSample, new Rng(config.seed));
      const images = Array.from(indices, (i) => source.read(i).image);
      source.close();
      const embeddings = await embedImages(model, "ID set", images, {
        batchSize,
        flipSum: false,
        workers: 0,
        backend,
      });
      const id = intrinsicDimension(embeddings, { sampleSize: images.length, repetitions: idRepetitions, seed: 1 });
      embeddings.dispose();
      const { mean, std, interval } = teacher.value.intrinsicDimension!;
      assert.deepEqual({ mean, std, interval }, { mean: id.mean, std: id.std, interval: id.interval });
    } finally {
      model.dispose();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
