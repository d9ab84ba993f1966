// `facekd refo` end to end on tiny synthetic data, through the command line: every stage's artifacts and the report
// exist and are well formed; finished stages are skipped and a config change reruns only what it touches; a run
// killed during the ReFO teacher's training and started again ends with the same results as an uninterrupted one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readResults, type RunResults } from "../../src/report/index.js";
import { NpyRows } from "../../src/io/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const KILL_AFTER_CHECKPOINT = fileURLToPath(new URL("./kill-after-checkpoint.js", import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });

const TINY = {
  name: "tiny",
  seed: 3,
  threads: 1,
  workers: 0,
  checkpointEvery: 2,
  data: {
    synthetic: {
      identities: 8,
      imagesPerIdentity: 6,
      unlabeledIdentities: 8,
      unlabeledImagesPerIdentity: 6,
      pairs: 40,
      testIdentities: 8,
      idIdentities: 40,
      imageSize: 32,
    },
  },
  embeddingSize: 16,
  teacher: { model: "mbf-w0.5@32", steps: 8, batchSize: 16 },
  student: { model: "mbf-w0.25@32", steps: 8, batchSize: 16 },
  refoPlus: { enabled: false },
  baselines: ["fo-standard", "kd", "th-kd", "sh-kd"],
  evaluation: { idSample: 40, idRepetitions: 3, batchSize: 32 },
};
const STAGES = [
  "data",
  "student-labels",
  "teacher-standard",
  "student-labels.embed-d1",
  "teacher-refo",
  "teacher-refo.embed-d2",
  "student-fo-refo",
  "teacher-standard.embed-d2",
  "student-fo-standard",
  "student-kd",
  "student-th-kd",
  "teacher-sh-kd",
  "teacher-sh-kd.embed-d2",
  "student-fo-sh-kd",
  "eval.student-labels",
  "eval.teacher-standard",
  "eval.teacher-refo",
  "eval.student-fo-refo",
  "eval.student-fo-standard",
  "eval.student-kd",
  "eval.student-th-kd",
  "eval.teacher-sh-kd",
  "eval.student-fo-sh-kd",
  "results",
];
const MODELS = STAGES.filter((id) => id.startsWith("eval.")).map((id) => id.slice("eval.".length));

let root: string;
let runA: string;
let configA: string;

function writeConfig(name: string, config: unknown): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

/** Results without what legitimately differs between two runs (time, speed, where it ran). */
function comparable(results: RunResults) {
  return {
    models: results.models.map(({ imagesPerSecond: _speed, ...rest }) => rest),
    intrinsicGap: results.intrinsicGap,
    findings: results.findings,
  };
}

before(() => {
  root = mkdtempSync(join(tmpdir(), "facekd-refo-"));
  runA = join(root, "a");
  configA = writeConfig("a", TINY);
});
after(() => rmSync(root, { recursive: true, force: true }));

test("facekd refo runs every stage and writes well-formed artifacts and the report", () => {
  const r = cli("refo", "--config", configA, "--run-dir", runA);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /FO ← ReFO teacher \(ReFO\)/);
  assert.match(r.stdout, /report: .*report\.html/);

  for (const id of STAGES) {
    const marker = JSON.parse(readFileSync(join(runA, "stages", id, "stage.json"), "utf8"));
    assert.equal(marker.status, "done", id);
  }
  for (const model of [
    "student-labels",
    "teacher-standard",
    "teacher-refo",
    "student-fo-refo",
    "student-fo-standard",
  ]) {
    assert.ok(existsSync(join(runA, "stages", model, "model.safetensors")), model);
    const metrics = readFileSync(join(runA, "stages", model, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    assert.ok(metrics.length >= 1 && JSON.parse(metrics.at(-1)!).step === 8, model);
  }
  // the reverse-distilled teacher logged both of its terms; the FO students only theirs
  const refoTerms = JSON.parse(readFileSync(join(runA, "stages/teacher-refo/metrics.jsonl"), "utf8").split("\n")[0]!);
  assert.deepEqual(Object.keys(refoTerms.terms).sort(), ["arcface", "reverse"]);
  const terms = (stage: string) =>
    Object.keys(JSON.parse(readFileSync(join(runA, "stages", stage, "metrics.jsonl"), "utf8").split("\n")[0]!).terms);
  assert.deepEqual(terms("student-fo-refo"), ["fo"]);
  // the head-sharing baselines ran with the frozen heads of the runs they name
  assert.deepEqual(terms("student-kd"), ["arcface", "kd"]);
  assert.deepEqual(terms("student-th-kd"), ["arcface", "th-kd"]);
  assert.deepEqual(terms("teacher-sh-kd"), ["sh-kd"]);

  for (const [stage, rows] of [
    ["student-labels.embed-d1", 48],
    ["teacher-refo.embed-d2", 48],
  ] as const) {
    const embeddings = new NpyRows(join(runA, "stages", stage, "embeddings.npy"));
    assert.deepEqual([embeddings.count, embeddings.dim], [rows, 16], stage);
    embeddings.close();
  }

  const results = readResults(runA); // validates every key
  assert.deepEqual(results.models.map((m) => m.id).sort(), [...MODELS].sort());
  for (const m of results.models) {
    const v = m.verification["synthetic-pairs"]!;
    assert.ok(v.accuracy >= 0 && v.accuracy <= 1, `${m.id} accuracy ${v.accuracy}`);
    assert.ok(m.intrinsicDimension!.mean > 0 && m.parameters > 0 && m.flops! > 0, m.id);
  }
  assert.equal(results.intrinsicGap?.reference, "student-labels");
  // each ID has its 95% interval (a 40-row sample is flagged small) and each gap to S' its paired one
  for (const m of results.models) {
    const id = m.intrinsicDimension!;
    assert.ok(id.interval!.low < id.mean && id.mean < id.interval!.high && id.smallSample, m.id);
  }
  for (const row of results.intrinsicGap!.rows)
    assert.equal(row.gapInterval === null, row.id === "student-labels", `${row.id}: ${JSON.stringify(row)}`);
  // the finding states the comparison the accuracies make
  const accuracy = (id: string) => results.models.find((m) => m.id === id)!.verification["synthetic-pairs"]!.accuracy;
  const [refo, standard] = [accuracy("student-fo-refo"), accuracy("student-fo-standard")];
  const verb = refo > standard ? "beats" : refo < standard ? "trails" : "ties";
  const finding = results.findings.find(
    (f) => f.startsWith("FO ← ReFO teacher (ReFO) ") && f.includes("FO ← standard"),
  );
  assert.ok(finding, results.findings.join("\n"));
  assert.match(finding, new RegExp(`\\(ReFO\\) ${verb} FO ← standard teacher`));
  assert.ok(finding.includes(`${(100 * refo).toFixed(2)}% vs ${(100 * standard).toFixed(2)}%`), finding);
  const html = readFileSync(join(runA, "report.html"), "utf8");
  for (const m of results.models) assert.ok(html.includes(m.label.replaceAll("'", "&#39;")), m.label);
  assert.ok((html.match(/<svg/g) ?? []).length >= 3, "loss, ROC and ID charts");
});

test("a second run skips finished stages; a config change reruns only the stages downstream of it", () => {
  const again = cli("refo", "--config", configA, "--run-dir", runA, "--dry-run", "--json");
  assert.equal(again.status, 0, again.stderr);
  const plan = JSON.parse(again.stdout).plan as { id: string; status: string }[];
  assert.deepEqual(
    plan.filter((s) => s.status !== "done").map((s) => `${s.id}:${s.status}`),
    ["results:forced"],
  );

  const changed = writeConfig("changed", { ...TINY, refo: { beta2: 2 } });
  const replanned = cli("refo", "--config", changed, "--run-dir", runA, "--dry-run", "--json");
  assert.equal(replanned.status, 0, replanned.stderr);
  const statuses = Object.fromEntries(
    (JSON.parse(replanned.stdout).plan as { id: string; status: string }[]).map((s) => [s.id, s.status]),
  );
  // beta2 is the weight of feature-only distillation: the FO students and what reads them, nothing upstream
  for (const id of ["student-fo-refo", "student-fo-standard", "eval.student-fo-refo", "eval.student-fo-standard"])
    assert.equal(statuses[id], "invalidated", id);
  for (const id of ["data", "student-labels", "teacher-refo", "teacher-refo.embed-d2", "eval.teacher-refo"])
    assert.equal(statuses[id], "done", id);

  const bad = cli("refo", "--config", writeConfig("bad", { ...TINY, student: { ...TINY.student, stpes: 3 } }));
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /bad\.yaml:\d+: student.*stpes/);
  const unknownStage = cli("refo", "--config", configA, "--run-dir", runA, "--only", "teacher-nope");
  assert.equal(unknownStage.status, 1);
  assert.match(unknownStage.stderr, /--only: no stage 'teacher-nope'.*teacher-refo/);
});

test("a run killed while training the ReFO teacher resumes to the same results as an uninterrupted run", async () => {
  const runB = join(root, "b");
  // the child kills itself (SIGKILL) right after teacher-refo's checkpoint of step 4: a crash at a known point
  const killed = spawnSync(process.execPath, [KILL_AFTER_CHECKPOINT, configA, runB, "teacher-refo", "4"]);
  assert.equal(killed.signal, "SIGKILL", killed.stderr?.toString());
  assert.ok(!existsSync(join(runB, "stages", "teacher-refo", "model.safetensors")), "killed before it finished");
  const marker = JSON.parse(readFileSync(join(runB, "stages", "teacher-refo", "stage.json"), "utf8"));
  assert.equal(marker.status, "running");

  const resumed = cli("refo", "--config", configA, "--run-dir", runB);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /teacher-refo: .*\(resuming\)/);
  assert.match(resumed.stderr, /resuming .*teacher-refo at step 4\/8/);
  assert.doesNotMatch(resumed.stderr, /\] student-labels:/, "finished stages are not run again");
  assert.deepEqual(comparable(readResults(runB)), comparable(readResults(runA)));
});
