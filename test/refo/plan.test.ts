// The stage plan of a ReFO run: which stages a config makes, what each trains with, and which fingerprints a change
// of the config moves (no training here; refo-run.test.ts runs a plan end to end).
import { test } from "node:test";
import assert from "node:assert/strict";
import { planStages, resolveRefoConfig, widen, type Stage, type TrainSpec } from "../../src/refo/index.js";
import { fingerprints } from "../../src/refo/stage-state.js";
import { runPaths } from "../../src/refo/context.js";

const plan = (input: unknown, classes = 100): Stage[] => planStages(resolveRefoConfig(input), classes);
const trainSpec = (stages: Stage[], id: string): TrainSpec => {
  const stage = stages.find((s) => s.id === id);
  assert.ok(stage && stage.spec.kind === "train", `${id} is a training stage`);
  return stage.spec as TrainSpec;
};

test("the default plan: the five ReFO steps, ReFO+ through a wider student proxy, every model evaluated", () => {
  const stages = plan({});
  const ids: string[] = stages.map((s) => s.id);
  const position = (id: string) => ids.indexOf(id);
  for (const s of stages)
    for (const need of s.needs) assert.ok(position(need) < position(s.id), `${need} before ${s.id}`);

  const teacher = trainSpec(stages, "teacher-refo");
  assert.equal(teacher.model.role, "teacher");
  assert.deepEqual(
    teacher.losses.map((l) => [l.name, l.weight ?? 1]),
    [
      ["arcface", 1],
      ["reverse", 0.5],
    ],
  );
  assert.deepEqual(teacher.precomputed, { student: "student-labels.embed-d1" });
  const fo = trainSpec(stages, "student-fo-refo");
  assert.deepEqual(fo.losses, [{ name: "fo", weight: 5, options: { metric: "normalized-l2" } }]);
  assert.equal(fo.data, "d2");
  assert.deepEqual(fo.precomputed, { teacher: "teacher-refo.embed-d2" });
  assert.deepEqual(trainSpec(stages, "teacher-refo-plus").precomputed, { student: "proxy-wider.embed-d1" });
  assert.equal(trainSpec(stages, "proxy-wider").model.architecture, "mbf-w0.5@48");
  const evaluated = stages.filter((s) => s.spec.kind === "evaluate").map((s) => s.id.replace("eval.", ""));
  assert.deepEqual(evaluated.sort(), [
    "proxy-wider",
    "student-fo-refo",
    "student-fo-refo-plus",
    "student-fo-standard",
    "student-labels",
    "teacher-refo",
    "teacher-refo-plus",
    "teacher-standard",
  ]);
  assert.equal(ids.at(-1), "results");
});

test("raw embeddings take beta1 = 0.001; the FO-student proxy; baselines wire teacher heads", () => {
  assert.equal(trainSpec(plan({ refo: { normalized: false } }), "teacher-refo").losses[1]!.weight, 0.001);
  const foProxy = plan({ refoPlus: { proxy: "fo-standard" }, baselines: [] });
  assert.deepEqual(trainSpec(foProxy, "teacher-refo-plus").precomputed, { student: "student-fo-standard.embed-d1" });
  assert.ok(!foProxy.some((s) => s.id === "proxy-wider"));
  const noBaselines = plan({ baselines: [] });
  assert.ok(!noBaselines.some((s) => s.id === "student-fo-standard"), "fo-standard only when asked for or as proxy");

  const baselines = plan({ baselines: ["kd", "th-kd", "sh-kd"], refoPlus: { enabled: false } });
  const kd = trainSpec(baselines, "student-kd");
  assert.equal(kd.liveTeacher, "teacher-standard");
  assert.deepEqual(kd.classifiers, { teacher: "teacher-standard" });
  assert.deepEqual(
    kd.losses.map((l) => l.name),
    ["arcface", "kd"],
  );
  assert.deepEqual(trainSpec(baselines, "teacher-sh-kd").classifiers, { student: "student-labels" });
  assert.deepEqual(trainSpec(baselines, "student-fo-sh-kd").precomputed, { teacher: "teacher-sh-kd.embed-d2" });
  assert.equal(widen("iresnet18@64"), "iresnet18-w2@64");
});

test("a pretrained teacher is imported, not trained, and head-sharing baselines then say why they cannot run", () => {
  const stages = plan({ teacher: { model: "iresnet50", pretrained: "/models/r50.pth" }, data: { labeled: "/d1.rec" } });
  assert.equal(stages[0]!.id, "student-labels", "no data stage for a given dataset");
  const standard = stages.find((s) => s.id === "teacher-standard")!;
  assert.deepEqual(standard.spec, {
    kind: "import",
    file: "/models/r50.pth",
    model: {
      id: "teacher-standard",
      label: "Standard teacher",
      role: "teacher",
      kind: "standard",
      architecture: "iresnet50",
    },
  });
  assert.equal(trainSpec(stages, "teacher-refo").init, "/models/r50.pth", "the tailored teacher starts from it");
  assert.throws(
    () => plan({ teacher: { pretrained: "/r50.pth" }, data: { labeled: "/d1.rec" }, baselines: ["th-kd"] }),
    /baselines: 'th-kd' needs the standard teacher's classifier/,
  );
});

test("fingerprints move for the changed stage and everything downstream of it only", () => {
  const base = resolveRefoConfig({});
  const before = fingerprints(planStages(base, 100), base, runPaths(base, "/run"), new Map());
  const changed = resolveRefoConfig({ teacher: { steps: 123 } });
  const after = fingerprints(planStages(changed, 100), changed, runPaths(changed, "/run"), new Map());
  const moved = [...before.keys()].filter((id) => before.get(id) !== after.get(id)).sort();
  // S' and the proxy have no teacher: their distillation error is measured against the standard teacher
  assert.deepEqual(moved, [
    "eval.proxy-wider",
    "eval.student-fo-refo",
    "eval.student-fo-refo-plus",
    "eval.student-fo-standard",
    "eval.student-labels",
    "eval.teacher-refo",
    "eval.teacher-refo-plus",
    "eval.teacher-standard",
    "results",
    "student-fo-refo",
    "student-fo-refo-plus",
    "student-fo-standard",
    "teacher-refo",
    "teacher-refo-plus",
    "teacher-refo-plus.embed-d2",
    "teacher-refo.embed-d2",
    "teacher-standard",
    "teacher-standard.embed-d2",
  ]);
});

test("the rival baselines: each a student of the standard teacher with its paper's terms and weights", () => {
  const baselines = ["ekd", "qud", "adadistill", "margin-distillation", "crd", "pkt", "dkd"];
  const stages = planStages(resolveRefoConfig({ baselines, embeddingSize: 64 }), 100, 4800);
  const losses = (id: string) => trainSpec(stages, id).losses.map((l) => [l.name, l.weight ?? 1]);
  assert.deepEqual(losses("student-ekd"), [
    ["arcface", 1],
    ["ekd", 1],
  ]);
  assert.deepEqual(losses("student-crd"), [
    ["arcface", 1],
    ["crd", 0.8],
  ]);
  assert.deepEqual(losses("student-pkt"), [
    ["arcface", 1],
    ["pkt", 30000],
  ]);
  assert.deepEqual(losses("student-adadistill"), [["adadistill", 1]]);
  assert.deepEqual(trainSpec(stages, "student-crd").losses[1]!.options, {
    datasetSize: 4800,
    studentSize: 64,
    negatives: 4800,
  });
  const qud = trainSpec(stages, "student-qud");
  assert.equal(qud.data, "d2");
  assert.equal(qud.liveTeacher, undefined);
  assert.deepEqual(qud.precomputed, { teacher: "teacher-standard.embed-d2" });
  for (const id of ["student-margin-distillation", "student-dkd"]) {
    assert.deepEqual(trainSpec(stages, id).classifiers, { teacher: "teacher-standard" }, id);
  }
  const evaluation = stages.find((s) => s.id === "eval.student-fo-refo")!;
  assert.ok(evaluation.spec.kind === "evaluate");
  assert.deepEqual(evaluation.spec.teacher, { stage: "teacher-refo", classifier: "teacher-refo" });
  assert.throws(() => planStages(resolveRefoConfig({ baselines: ["crd"] }), 100), /'crd' needs the number of samples/);
  assert.throws(
    () => planStages(resolveRefoConfig({ baselines: ["dkd"], teacher: { pretrained: "t.pth" } }), 100),
    /'dkd' needs the standard teacher's classifier/,
  );
});

test("config errors name the key", () => {
  assert.throws(() => resolveRefoConfig({ teacher: { stpes: 3 } }), /refo config: teacher\.stpes is not a known key/);
  assert.throws(() => resolveRefoConfig({ refo: { beta2: -1 } }), /refo\.beta2 must be > 0/);
  assert.throws(() => resolveRefoConfig({ baselines: ["hinton"] }), /baselines\[0\] must be one of/);
});

test("model names must be registered and numbers sane, each error at its key", () => {
  assert.throws(
    () => resolveRefoConfig({ teacher: { model: "resnet9000" } }),
    /teacher\.model unknown model 'resnet9000'/,
  );
  assert.throws(
    () => resolveRefoConfig({ refoPlus: { widerModel: "mbf-wide" } }),
    /refoPlus\.widerModel '?mbf-wide'? is not a model name/,
  );
  assert.doesNotThrow(() => resolveRefoConfig({ student: { model: "mbf-w0.5@64" } }));
  const optimizer = (o: object) => ({ student: { optimizer: { type: "sgd", lr: 0.1, ...o } } });
  assert.throws(() => resolveRefoConfig(optimizer({ lr: 1e30 })), /student\.optimizer\.lr must be <= 10, got 1e\+30/);
  assert.throws(
    () => resolveRefoConfig(optimizer({ lr: NaN })),
    /student\.optimizer\.lr must be a finite number, got NaN/,
  );
  assert.throws(() => resolveRefoConfig(optimizer({ weightDecay: -1 })), /weightDecay must be >= 0, got -1/);
  assert.throws(() => resolveRefoConfig(optimizer({ momentum: 1.5 })), /momentum must be < 1, got 1\.5/);
  assert.throws(() => resolveRefoConfig({ fingerprint: "md5" }), /fingerprint must be one of 'sampled', 'full'/);
});
