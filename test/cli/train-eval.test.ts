import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

import { trainConfigSchema } from "../../src/train/config-schema.js";
import { readNpy } from "../../src/io/index.js";
import { checkConfig } from "../../src/config/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../examples/configs/", import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { ...process.env, FACEKD_THREADS: "1" } });

let root: string;
const MODEL = ["--model", "mbf-w0.25@32", "--embedding-size", "16"];

// A config in root/configs/ whose paths are relative to that folder.
const TRAIN_YAML = `
runDir: ../runs/teacher
model:
  name: mbf-w0.25@32
  options: { embeddingSize: 16 }
data: { path: ../synth/train/train.rec, workers: 0 }
losses:
  - name: arcface
    options: { numClasses: 4, embeddingSize: 16, s: 16 }
optimizer: { type: sgd, lr: 0.05 }
steps: 10
batchSize: 8
threads: 1
logEvery: 5
`;

function writeConfig(name: string, text: string): string {
  const file = path.join(root, "configs", name);
  writeFileSync(file, text);
  return file;
}

before(() => {
  root = mkdtempSync(path.join(tmpdir(), "facekd-cli-train-"));
  mkdirSync(path.join(root, "configs"));
  const synth = run(
    ...["data", "synth", path.join(root, "synth"), "--identities", "4", "--images", "4"],
    ...["--unlabeled-identities", "2", "--unlabeled-images", "2", "--pairs", "40", "--size", "32"],
  );
  assert.equal(synth.status, 0, synth.stderr);
});

test("train, embed, distill and eval work from YAML configs on a tiny synthetic set", () => {
  const trained = run("train", "--config", writeConfig("train.yaml", TRAIN_YAML), "--json");
  assert.equal(trained.status, 0, trained.stderr);
  const result = JSON.parse(trained.stdout) as { step: number; modelFile: string };
  assert.equal(result.step, 10);
  assert.equal(result.modelFile, path.join(root, "runs", "teacher", "model.safetensors"));
  assert.ok(existsSync(result.modelFile));

  const out = path.join(root, "emb", "train.npy");
  const data = path.join(root, "synth", "train", "train.rec");
  const embed = run("embed", ...MODEL, "--weights", result.modelFile, "--data", data, "--out", out, "--workers", "0");
  assert.equal(embed.status, 0, embed.stderr);
  assert.match(embed.stdout, /N 16, D 16/);
  assert.deepEqual(readNpy(out).shape, [16, 16]);
  assert.deepEqual(readNpy(path.join(root, "emb", "train.labels.npy")).shape, [16]);

  const distillYaml = TRAIN_YAML.replace("../runs/teacher", "../runs/student")
    .replace(/losses:[\s\S]*?optimizer/, "losses:\n  - { name: fo, weight: 5 }\noptimizer")
    .replace("workers: 0", "workers: 0, flip: false");
  const distillFile = writeConfig("distill.yaml", distillYaml);
  const distilled = run("distill", "--config", distillFile, "--teacher-embeddings", out, "--steps", "4", "--json");
  assert.equal(distilled.status, 0, distilled.stderr);
  assert.equal(JSON.parse(distilled.stdout).step, 4);
  assert.ok(existsSync(path.join(root, "runs", "student", "model.safetensors")));
  const notDistill = run("distill", "--config", path.join(root, "configs", "train.yaml"));
  assert.equal(notDistill.status, 1);
  assert.match(notDistill.stderr, /train\.yaml:\d+: losses: has no distillation term/);

  const pairs = path.join(root, "synth", "pairs.bin");
  const evalDir = path.join(root, "eval");
  const evaluated = run("eval", ...MODEL, "--weights", result.modelFile, "--pairs", pairs, "--workers", "0", "--json");
  assert.equal(evaluated.status, 0, evaluated.stderr);
  const sets = (JSON.parse(evaluated.stdout) as { sets: { name: string; result: Record<string, unknown> }[] }).sets;
  assert.equal(sets[0]!.name, "pairs");
  const accuracy = sets[0]!.result.accuracy as number;
  assert.ok(accuracy >= 0 && accuracy <= 1, `accuracy ${accuracy}`);
  assert.equal((sets[0]!.result.foldAccuracies as number[]).length, 10);

  const allVsAll = run(
    ...["eval", "--all-vs-all", "--embeddings", out, "--labels", path.join(root, "emb", "train.labels.npy")],
    ...["--out", evalDir],
  );
  assert.equal(allVsAll.status, 0, allVsAll.stderr);
  assert.match(allVsAll.stdout, /TAR@FAR=1e-1/);
  const saved = JSON.parse(readFileSync(path.join(evalDir, "results.json"), "utf8"));
  // 4 identities x 4 images: 4 * C(4, 2) genuine pairs of C(16, 2)
  assert.deepEqual([saved.roc.genuineCount, saved.roc.impostorCount], [24, 96]);
  assert.ok(existsSync(path.join(evalDir, "roc.svg")) && existsSync(path.join(evalDir, "roc.png")));
});

test("bad configs fail with the file, the line and the key", () => {
  const cases: [string, string, RegExp][] = [
    [
      "misspelled.yaml",
      TRAIN_YAML.replace("batchSize", "batchSzie"),
      /misspelled\.yaml:12: batchSzie: is not a known key \(allowed: runDir, /,
    ],
    [
      "type.yaml",
      TRAIN_YAML.replace("lr: 0.05", "lr: fast"),
      /type\.yaml:10: optimizer\.lr: must be a number, got 'fast'/,
    ],
    [
      "path.yaml",
      TRAIN_YAML.replace("train/train.rec", "train/nope.rec"),
      /path\.yaml:6: data\.path: \.\.\/synth\/train\/nope\.rec does not exist/,
    ],
    // numeric sanity and model names, before anything runs
    [
      "lr.yaml",
      TRAIN_YAML.replace("lr: 0.05", "lr: 1e30, weightDecay: -1"),
      /lr\.yaml:10: optimizer\.lr: must be <= 10, got 1e\+30: .*non-finite\n.*lr\.yaml:10: optimizer\.weightDecay: must be >= 0/,
    ],
    [
      "nan.yaml",
      TRAIN_YAML.replace("lr: 0.05", "lr: .nan"),
      /nan\.yaml:10: optimizer\.lr: must be a finite number, got NaN/,
    ],
    [
      "model.yaml",
      TRAIN_YAML.replace("name: mbf-w0.25@32", "name: resnet9000"),
      /model\.yaml:4: model\.name: unknown model 'resnet9000': registered models are iresnet18, /,
    ],
    // relations between keys and the dataset, and paths of the wrong kind
    [
      "classes.yaml",
      TRAIN_YAML.replace("numClasses: 4", "numClasses: 3"),
      /classes\.yaml:9: losses\[0\]\.options\.numClasses: is 3, but .*train\.rec holds 4 identities: set it to 4/,
    ],
    [
      "embedding.yaml",
      TRAIN_YAML.replace("numClasses: 4, embeddingSize: 16", "numClasses: 4, embeddingSize: 32"),
      /embedding\.yaml:9: losses\[0\]\.options\.embeddingSize: is 32, but the model's embedding has 16 dimensions/,
    ],
    [
      "batch.yaml",
      TRAIN_YAML.replace("batchSize: 8", "batchSize: 100"),
      /batch\.yaml:12: batchSize: is 100, more than the 16 images of .*train\.rec: use at most 16/,
    ],
    [
      "init.yaml",
      TRAIN_YAML.replace("options: { embeddingSize: 16 }", "options: { embeddingSize: 16 }\n  init: ../synth"),
      /init\.yaml:6: model\.init: .*synth is a folder, but this key names a checkpoint/,
    ],
  ];
  for (const [name, text, message] of cases) {
    const r = run("train", "--config", writeConfig(name, text));
    assert.equal(r.status, 1, `${name}: ${r.stdout}`);
    assert.match(r.stderr, message);
  }
  const fresh = run("train", "--config", path.join(root, "configs", "train.yaml"), "--fresh");
  assert.equal(fresh.status, 1);
  assert.match(fresh.stderr, /already holds a run/);
});

test("the example configs are valid train configs", () => {
  for (const name of ["train-teacher.yaml", "distill-fo.yaml"]) {
    const checked = checkConfig(trainConfigSchema, parse(readFileSync(path.join(EXAMPLES, name), "utf8")));
    assert.ok(checked.ok, `${name}: ${JSON.stringify(!checked.ok && checked.problems)}`);
  }
});
