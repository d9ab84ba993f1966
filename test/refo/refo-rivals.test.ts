// The rival face-KD methods as `facekd refo` baselines, end to end on tiny synthetic data: each trains a student from
// the standard teacher with its own terms (QUD on D2 against precomputed embeddings, without labels), and every
// student's distillation error against its teacher reaches results.json, the text table and the report.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readResults } from "../../src/report/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const RIVALS = ["ekd", "qud", "adadistill", "margin-distillation", "crd", "pkt", "dkd"];
const TINY = {
  name: "rivals",
  seed: 5,
  threads: 1,
  workers: 0,
  checkpointEvery: 4,
  data: {
    synthetic: {
      identities: 6,
      imagesPerIdentity: 4,
      unlabeledIdentities: 6,
      unlabeledImagesPerIdentity: 4,
      pairs: 20,
      testIdentities: 6,
      idIdentities: 24,
      imageSize: 32,
    },
  },
  embeddingSize: 16,
  teacher: { model: "mbf-w0.25@32", steps: 3, batchSize: 8 },
  student: { model: "mbf-w0.25@32", steps: 3, batchSize: 8 },
  refoPlus: { enabled: false },
  baselines: RIVALS,
  evaluation: { idSample: 24, idRepetitions: 2, batchSize: 24 },
};

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "facekd-rivals-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

test("every rival baseline trains from the standard teacher and is evaluated with its distillation error", () => {
  const config = join(root, "rivals.yaml");
  writeFileSync(config, stringify(TINY));
  const runDir = join(root, "run");
  const r = spawnSync(process.execPath, [MAIN, "refo", "--config", config, "--run-dir", runDir], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);

  const terms = (stage: string) =>
    Object.keys(JSON.parse(readFileSync(join(runDir, "stages", stage, "metrics.jsonl"), "utf8").split("\n")[0]!).terms);
  assert.deepEqual(terms("student-ekd"), ["arcface", "ekd"]);
  assert.deepEqual(terms("student-qud"), ["qud"]);
  assert.deepEqual(terms("student-adadistill"), ["adadistill"]);
  assert.deepEqual(terms("student-margin-distillation"), ["margin-distillation"]);
  assert.deepEqual(terms("student-crd"), ["arcface", "crd"]);
  assert.deepEqual(terms("student-pkt"), ["arcface", "pkt"]);
  assert.deepEqual(terms("student-dkd"), ["arcface", "dkd"]);
  // QUD read the teacher's precomputed embeddings of D2, not a live teacher
  const qud = JSON.parse(readFileSync(join(runDir, "stages", "student-qud", "config.json"), "utf8"));
  assert.equal(qud.teacher, undefined);
  assert.match(qud.precomputed.teacher, /teacher-standard\.embed-d2/);
  assert.match(qud.data.path, /unlabeled/);

  const results = readResults(runDir);
  const byId = new Map(results.models.map((m) => [m.id, m]));
  for (const kind of RIVALS) {
    const m = byId.get(`student-${kind}`);
    assert.ok(m, kind);
    assert.ok(m.verification["synthetic-pairs"]!.accuracy >= 0);
    assert.equal(m.distillationError?.teacher, "teacher-standard", kind);
    assert.deepEqual(
      m.distillationError!.values.map((v) => v.gamma),
      [1, 4],
    );
    for (const { value } of m.distillationError!.values) assert.ok(value >= 0 && value <= 1, `${kind}: ${value}`);
  }
  assert.equal(byId.get("student-fo-refo")!.distillationError?.teacher, "teacher-refo");
  assert.equal(byId.get("student-labels")!.distillationError?.teacher, "teacher-standard");
  assert.equal(byId.get("teacher-standard")!.distillationError, null);
  assert.ok(results.findings.some((f) => /FO ← ReFO teacher \(ReFO\) (beats|trails|ties) QUD/.test(f)));

  assert.match(r.stdout, /Φ γ=1 +│? *Φ γ=4|Φ γ=1.*Φ γ=4/);
  const html = readFileSync(join(runDir, "report.html"), "utf8");
  assert.ok(html.includes("distill. error Φ (γ=4)"));
  for (const kind of RIVALS) assert.ok(html.includes(`student-${kind}`), kind);
});
