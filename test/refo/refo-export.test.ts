// `export: [onnx]` in a refo config: every final student is written as student.onnx into its stage folder, runs in
// onnxruntime with the run's embedding size, and the results and the report link it; teachers are not exported.
// The same run evaluates every model on a tiny IJB-C release (`evaluation.ijb`, a path relative to the config).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readResults } from "../../src/report/index.js";
import { OnnxTeacher } from "../../src/models/index.js";
import { TINY_RUN } from "./tiny-synthetic.js";
import { writeIjbRelease } from "../helpers/ijb-release.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

const TINY = {
  ...TINY_RUN,
  name: "tiny-export",
  seed: 1,
  evaluation: { ...TINY_RUN.evaluation, ijb: { path: "ijb" } },
  export: ["onnx"],
};

// on 2 processes (--nproc 2): the data-parallel refo run (training, embedding and evaluation stages shared, the rest
// on rank 0) is checked here too, to keep the suite short
test("export: [onnx] writes each final student as student.onnx and the report links it (refo --nproc 2)", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-export-"));
  try {
    await writeIjbRelease(join(root, "ijb"));
    const runDir = join(root, "run");
    writeFileSync(join(root, "config.yaml"), stringify({ ...TINY, runDir }));
    const args = [MAIN, "refo", "--config", join(root, "config.yaml"), "--nproc", "2", "--dist-timeout", "300"];
    const run = spawnSync(process.execPath, args, { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /launched ranks 0\.\.1 of 2/);
    const results = readResults(runDir);
    const students = results.models.filter((m) => m.role === "student").map((m) => m.id);
    assert.deepEqual(students.sort(), ["student-fo-refo", "student-fo-standard", "student-labels"]);
    const report = readFileSync(join(runDir, "report.html"), "utf8");
    for (const m of results.models) {
      const file = join("stages", m.id, "student.onnx");
      if (m.role === "teacher") {
        assert.ok(!m.onnx && !existsSync(join(runDir, file)), `${m.id} is not exported`);
        continue;
      }
      assert.equal(m.onnx, file);
      assert.ok(report.includes(`href="${file}"`), `the report links ${file}`);
      const session = await OnnxTeacher.open(join(runDir, file));
      assert.equal(session.embeddingSize, 16);
      assert.equal(session.inputSize, 32);
      await session.close();
    }
    for (const m of results.models) {
      assert.equal(m.ijb?.target, "IJBC", `${m.id} is evaluated on the IJB release`);
      assert.deepEqual([m.ijb.faces, m.ijb.templates, m.ijb.tarAtFar.length], [11, 6, 6]);
    }
    assert.ok(report.includes("<h2>IJB-B/C</h2>") && report.includes("11 faces in 6 templates"));
    assert.ok(
      results.findings.some((f) => f.includes("on IJBC, TAR@FAR=1e-1")),
      results.findings.join("\n"),
    );

    // the ranks' shared evaluation gives one process's figures: rerun one evaluation stage in one process
    const evaluation = join(runDir, "stages", "eval.student-labels", "eval.json");
    const two = JSON.parse(readFileSync(evaluation, "utf8")) as Record<string, unknown>;
    const again = [MAIN, "refo", "--config", join(root, "config.yaml"), "--from-stage", "eval.student-labels"];
    const alone = spawnSync(process.execPath, again, { encoding: "utf8" });
    assert.equal(alone.status, 0, alone.stderr);
    assert.match(alone.stderr, /eval\.student-labels done in/);
    const one = JSON.parse(readFileSync(evaluation, "utf8")) as Record<string, unknown>;
    for (const key of ["verification", "ijb", "intrinsicDimension", "distillationError"]) {
      assert.ok(one[key] !== null && one[key] !== undefined, key);
      assert.deepEqual(two[key], one[key], `${key}: 2 ranks against one process`);
    }

    // a bad line of the release stops the run before its first stage, naming the key, the file and the line
    appendFileSync(join(root, "ijb", "meta", "ijbc_template_pair_label.txt"), "\n11 99 1\n");
    const dry = spawnSync(process.execPath, [MAIN, "refo", "--config", join(root, "config.yaml"), "--dry-run"], {
      encoding: "utf8",
    });
    assert.equal(dry.status, 1);
    assert.match(dry.stderr, /evaluation\.ijb\.path: .*ijbc_template_pair_label\.txt:16: template 99 has no face/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
