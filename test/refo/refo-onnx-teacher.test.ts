// `teacher.onnx` in a refo config: an ONNX model of another architecture (NHWC, 40x40 pixels on 0..255, 32-d) is
// the standard teacher of feature-only distillation; the stages that need it in libtorch are errors at plan time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { planStages, resolveRefoConfig, runRefo } from "../../src/refo/index.js";
import { OnnxTeacher } from "../../src/models/index.js";
import { openDataset } from "../../src/data/index.js";
import { extractEmbeddings } from "../../src/infer/index.js";
import { readNpy } from "../../src/io/index.js";
import { maxAbsDiff } from "../helpers/onnx.js";
import { TINY_RUN } from "./tiny-synthetic.js";

const FILE = fileURLToPath(new URL("../../../test/fixtures/onnx/other-nhwc.onnx", import.meta.url));
const INPUT = { mean: 0, std: 1 }; // the fixture takes pixels 0..255

const TINY = {
  ...TINY_RUN,
  name: "tiny-onnx-teacher",
  seed: 1,
  embeddingSize: 32,
  teacher: { onnx: { file: FILE, ...INPUT } },
  refo: { enabled: false },
  baselines: ["fo-standard", "qud"],
};

const plan = (changes: object) => planStages(resolveRefoConfig({ ...TINY, ...changes }), 4, 16);

test("teacher.onnx: the stages that train or run the teacher in libtorch are errors naming what to set", () => {
  const ids = plan({}).map((s) => s.id);
  assert.ok(ids.includes("teacher-standard.embed-d2") && ids.includes("student-fo-standard"));
  assert.ok(!ids.some((id) => id.startsWith("teacher-refo")));
  assert.throws(() => plan({ refo: {} }), /refo\.enabled: .*teacher\.pretrained.*set refo\.enabled: false/);
  assert.throws(() => plan({ refoPlus: {} }), /refoPlus\.enabled: .*set refoPlus\.enabled: false/);
  for (const kind of ["kd", "sh-kd", "ekd", "dkd"]) {
    assert.throws(() => plan({ baselines: [kind] }), new RegExp(`'${kind}'.*remove '${kind}' from baselines`));
  }
  const both = { teacher: { ...TINY.teacher, pretrained: "teacher.pth" } };
  assert.throws(() => plan(both), /teacher: set either pretrained .* or onnx/);
});

test("teacher.onnx: an embedding size other than embeddingSize fails before any stage, saying what to set", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-onnx-"));
  try {
    await assert.rejects(runRefo({ ...TINY, embeddingSize: 16 }, { runDir: join(root, "run"), dryRun: true }), (e) => {
      assert.match((e as Error).message, /embeddingSize.*gives 32-d embeddings.*set embeddingSize: 32/s);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("teacher.onnx: FO from an ONNX teacher of another architecture, end to end on tiny data", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-onnx-"));
  const teacher = await OnnxTeacher.open(FILE, INPUT);
  try {
    const runDir = join(root, "run");
    const { results } = await runRefo(TINY, { runDir, log: () => undefined });
    const models = new Map(results!.models.map((m) => [m.id, m]));
    assert.deepEqual([...models.keys()].sort(), [
      "student-fo-standard",
      "student-labels",
      "student-qud",
      "teacher-standard",
    ]);
    const row = models.get("teacher-standard")!;
    assert.equal(row.architecture, "onnx: other-nhwc.onnx");
    assert.equal(row.parameters, teacher.parameters);
    assert.ok(teacher.parameters > 0);
    assert.equal(row.flops, null);
    assert.ok(row.imagesPerSecond! > 0 && row.intrinsicDimension!.mean > 0);
    const accuracy = row.verification["synthetic-pairs"]!.accuracy;
    assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
    // the students of an ONNX teacher have no classifier to measure a distillation error through
    assert.equal(models.get("student-fo-standard")!.distillationError, null);
    assert.match(readFileSync(join(runDir, "report.html"), "utf8"), /onnx: other-nhwc\.onnx/);

    // the embed stage ran the file through onnxruntime with the config's input options
    const stage = join(runDir, "stages", "teacher-standard.embed-d2");
    const source = openDataset(join(runDir, "data", "unlabeled", "unlabeled.rec"));
    try {
      const direct = await extractEmbeddings(teacher, source, { out: join(root, "direct.npy"), workers: 0 });
      torch.tidy(() => {
        const got = readNpy(join(stage, "embeddings.npy"));
        assert.deepEqual(got.shape, [16, 32]);
        const diff = maxAbsDiff(got, readNpy(direct.embeddings));
        assert.ok(diff < 1e-5, `max abs difference ${diff}`);
      });
    } finally {
      source.close();
    }

    // a second start finds every stage done, the ONNX teacher's included
    const again = await runRefo(TINY, { runDir, log: () => undefined, dryRun: true });
    const pending = again.plan.filter((p) => p.status !== "done" && p.id !== "results").map((p) => p.id);
    assert.deepEqual(pending, []);
  } finally {
    await teacher.close();
    rmSync(root, { recursive: true, force: true });
  }
});
