// Logits and classifiers in the trainer: a finished run's head.safetensors, Hinton KD and TH-KD against a live
// teacher with its frozen classifier, SH-KD training a teacher through a student's classifier, and the errors of a
// wrong `classifiers` entry.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as torch from "../../src/torch/index.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/index.js";
import type { MemorySource } from "../../src/data/index.js";
import { defineLoss, type LossSpec, type ModelOutputs } from "../../src/distill/index.js";
import { readMetrics, readSidecar, train, type TrainConfig } from "../../src/train/index.js";
import { classifierLogits, loadClassifier } from "../../src/train/classifiers.js";
import { syntheticSource } from "./synthetic.js";

torch.setNumThreads(1);
const F = torch.nn.functional;
const NAME = "mbf-w0.25@32";
const MODEL = { name: NAME, options: { embeddingSize: 16 } };
const S = 16;
const quiet = { log: () => {} };
let source: MemorySource;
let root: string;

// a term that records what the losses were given (and adds nothing to the total)
let captured: { student?: ModelOutputs; teacher?: ModelOutputs }[] = [];
const keepCopy = (o: ModelOutputs | undefined): ModelOutputs | undefined =>
  o && {
    embedding: o.embedding && torch.keep(o.embedding.detach().clone()),
    logits: o.logits && torch.keep(o.logits.detach().clone()),
    classifier: o.classifier && torch.keep(o.classifier.detach().clone()),
  };
defineLoss({
  name: "test-capture",
  summary: "test only",
  kind: "embedding",
  reads: ["embedding", "classifier"],
  options: z.object({}),
  create: () => (ctx) => {
    captured.push({ student: keepCopy(ctx.student), teacher: keepCopy(ctx.teacher) });
    return ctx.student!.embedding!.square().mean().mul(0);
  },
});

const arcface = (model: "student" | "teacher" = "student"): LossSpec => ({
  name: "arcface",
  options: { numClasses: 4, embeddingSize: 16, s: S, m: 0.3, model },
});

function config(name: string, losses: LossSpec[], extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    runDir: join(root, name),
    model: MODEL,
    losses,
    data: { path: "(memory)", workers: 0 },
    optimizer: { type: "sgd", lr: 0.05 },
    steps: 3,
    batchSize: 8,
    clipGradNorm: 5,
    seed: 3,
    threads: 1,
    logEvery: 1,
    ...extra,
  };
}

/** Every logged step's terms: finite, and exactly `labels`. */
function assertTerms(name: string, labels: string[]): void {
  const records = readMetrics(join(root, name, "metrics.jsonl")).filter((r) => typeof r.loss === "number");
  assert.equal(records.length, 3);
  for (const r of records) {
    assert.ok(Number.isFinite(r.loss), JSON.stringify(r));
    const terms = r.terms as Record<string, number>;
    assert.deepEqual(Object.keys(terms), labels);
    assert.ok(Object.values(terms).every(Number.isFinite), JSON.stringify(terms));
  }
}

/** s * normalize(f) @ normalize(W)^T, written out. */
const expectedLogits = (f: torch.Tensor, w: torch.Tensor, s: number): torch.Tensor =>
  F.normalize(f).matmul(F.normalize(w).t()).mul(s);

const close = (a: torch.Tensor, b: torch.Tensor, what: string): void =>
  torch.tidy(() => {
    assert.deepEqual(a.shape, b.shape, what);
    const diff = a.sub(b).abs().max().item();
    assert.ok(diff < 1e-4, `${what}: differs by ${diff}`);
  });

let teacherModel: string;
let teacherHead: string;

before(async () => {
  root = mkdtempSync(join(tmpdir(), "facekd-classifiers-"));
  source = await syntheticSource({ classes: 4, perClass: 6 });
  const teacher = await train(config("teacher", [arcface()]), { source, ...quiet });
  teacherModel = teacher.modelFile!;
  teacherHead = teacher.headFile!;
});
after(() => {
  rmSync(root, { recursive: true, force: true });
  for (const c of captured)
    for (const o of [c.student, c.teacher]) for (const t of Object.values(o ?? {})) t?.dispose();
});

test("margin-free logits are s * cos(f, w) (a case by hand)", () => {
  torch.tidy(() => {
    const f = torch.tensor([
      [3, 4],
      [0, -2],
    ]);
    const weight = torch.tensor([
      [1, 0],
      [0, 2],
      [-3, 0],
    ]);
    // cosines: (3/5, 4/5, -3/5) and (0, -1, 0)
    close(
      classifierLogits(f, { weight, scale: 10 }),
      torch.tensor([
        [6, 8, -6],
        [0, -10, 0],
      ]),
      "logits",
    );
  });
});

test("a finished run writes head.safetensors: the margin head's class centres, as in its last checkpoint", () => {
  torch.tidy(() => {
    const { tensors } = loadSafetensors(teacherHead);
    assert.deepEqual([...tensors.keys()], ["arcface.weight"]);
    const dir = join(root, "teacher", "checkpoints");
    const checkpoint = loadSafetensors(join(dir, readSidecar(dir, "last")!.tensors)).tensors;
    const weight = tensors.get("arcface.weight")!;
    assert.deepEqual(weight.shape, [4, 16]);
    assert.ok(torch.equal(weight, checkpoint.get("loss.arcface.weight")!));
    const loaded = loadClassifier("teacher", { path: teacherHead }, 16);
    assert.equal(loaded.scale, 64);
    assert.ok(torch.equal(loaded.weight, weight));
  });
});

test("ce: the trained model's logits are s * cos(f, W) of its margin head; without a logit loss none are made", async () => {
  captured = [];
  await train(config("ce", [arcface(), { name: "ce", weight: 0.5 }, { name: "test-capture" }]), { source, ...quiet });
  assertTerms("ce", ["arcface", "ce", "test-capture"]);
  assert.equal(captured.length, 3);
  for (const { student } of captured) {
    assert.deepEqual(student!.classifier!.shape, [4, 16]);
    close(student!.logits!, expectedLogits(student!.embedding!, student!.classifier!, S), "student logits");
  }
  captured = [];
  await train(config("no-logits", [arcface(), { name: "test-capture" }], { steps: 1 }), { source, ...quiet });
  assert.equal(captured[0]!.student!.logits, undefined);
  assert.deepEqual(captured[0]!.student!.classifier!.shape, [4, 16]);
});

const liveTeacher = (): Partial<TrainConfig> => ({
  teacher: { ...MODEL, init: teacherModel },
  classifiers: { teacher: { path: teacherHead, scale: S } },
});

test("kd: a student against a live teacher whose logits come from its finished run's head", async () => {
  captured = [];
  const losses = [arcface(), { name: "kd" }, { name: "test-capture" }];
  const result = await train(config("kd", losses, liveTeacher()), { source, ...quiet });
  assert.ok(result.finished);
  assertTerms("kd", ["arcface", "kd", "test-capture"]);
  torch.tidy(() => {
    const head = loadSafetensors(teacherHead).tensors.get("arcface.weight")!;
    for (const { teacher } of captured) {
      assert.ok(torch.equal(teacher!.classifier!, head), "the frozen classifier is the file's");
      close(teacher!.logits!, expectedLogits(teacher!.embedding!, head, S), "teacher logits");
    }
  });
  const kd = readMetrics(join(root, "kd", "metrics.jsonl")).map((r) => (r.terms as Record<string, number>).kd!);
  assert.ok(kd.every((v) => v >= 0) && kd.some((v) => v > 0), `KL is non-negative and not all zero: ${kd}`);
});

test("th-kd: the teacher's frozen classifier on the student's embedding", async () => {
  captured = [];
  const losses = [arcface(), { name: "th-kd", weight: 2, options: { scale: S } }, { name: "test-capture" }];
  await train(config("th-kd", losses, liveTeacher()), { source, ...quiet });
  assertTerms("th-kd", ["arcface", "th-kd", "test-capture"]);
  // each step's term, by hand: KL(softmax(z_t / T) || softmax(z_s / T)) * T^2 with z = s * cos(f, W_teacher), T = 4
  const logged = readMetrics(join(root, "th-kd", "metrics.jsonl")).map(
    (r) => (r.terms as Record<string, number>)["th-kd"]!,
  );
  torch.tidy(() => {
    const head = loadSafetensors(teacherHead).tensors.get("arcface.weight")!;
    captured.forEach(({ student, teacher }, step) => {
      assert.ok(torch.equal(teacher!.classifier!, head), "the teacher's classifier is its run's head");
      const T = 4;
      const pt = F.softmax(expectedLogits(teacher!.embedding!, head, S).div(T), 1);
      const logPs = F.logSoftmax(expectedLogits(student!.embedding!, head, S).div(T), 1);
      const expected = pt
        .mul(pt.log().sub(logPs))
        .sum(1)
        .mean()
        .mul(T * T)
        .item();
      assert.ok(
        Math.abs(logged[step]! - expected) < 1e-4 * Math.max(1, expected),
        `step ${step + 1}: ${logged[step]} vs ${expected}`,
      );
    });
  });
});

test("sh-kd: a teacher trained with its own margin head and through a student run's frozen classifier", async () => {
  const studentHead = join(root, "kd", "head.safetensors");
  const losses = [arcface("teacher"), { name: "sh-kd", options: { s: S, m: 0.3 } }];
  const result = await train(
    config("sh-kd", losses, { role: "teacher", classifiers: { student: { path: studentHead } } }),
    { source, ...quiet },
  );
  assert.ok(result.headFile !== null);
  assertTerms("sh-kd", ["arcface", "sh-kd"]);
});

test("a wrong classifiers entry is an error naming the key and what to do", async () => {
  const attempt = (name: string, extra: Partial<TrainConfig>, losses: LossSpec[] = [arcface(), { name: "kd" }]) =>
    train(config(name, losses, extra), { source, ...quiet });
  const teacher = { ...MODEL, init: teacherModel };
  await assert.rejects(
    attempt("missing", { teacher, classifiers: { teacher: { path: join(root, "nowhere", "head.safetensors") } } }),
    /classifiers\.teacher\.path: .*nowhere.* does not exist: train the teacher first, or point classifiers\.teacher\.path/,
  );
  await assert.rejects(
    attempt("bad-key", { teacher, classifiers: { teacher: { path: teacherHead, key: "cosface.weight" } } }),
    /classifiers\.teacher\.key: .* has no \[classes, D\] tensor 'cosface\.weight' \(its class centres: arcface\.weight\)/,
  );
  const two = join(root, "two.safetensors");
  torch.tidy(() =>
    saveSafetensors(
      two,
      new Map([
        ["arcface.weight", torch.zeros([4, 16])],
        ["cosface.weight", torch.zeros([4, 16])],
      ]),
    ),
  );
  await assert.rejects(
    attempt("two", { teacher, classifiers: { teacher: { path: two } } }),
    /classifiers\.teacher: .* several classifiers \(arcface\.weight, cosface\.weight\): set classifiers\.teacher\.key/,
  );
  const narrow = { ...config("narrow", []), model: { name: NAME, options: { embeddingSize: 8 } } };
  await assert.rejects(
    train(
      {
        ...narrow,
        role: "teacher",
        losses: [{ name: "sh-kd" }],
        classifiers: { student: { path: teacherHead } },
      },
      { source, ...quiet },
    ),
    /classifiers\.student: .* \[4, 16\] takes 16-d embeddings but the model it is applied to makes 8-d ones/,
  );
});
