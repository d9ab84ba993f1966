// `export: [onnx]` in a refo config: every final student is written as student.onnx into its stage folder, runs in
// onnxruntime with the run's embedding size, and the results and the report link it; teachers are not exported.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readResults } from "../../src/report/index.js";
import { OnnxTeacher } from "../../src/models/index.js";
import { TINY_RUN } from "./tiny-synthetic.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

const TINY = { ...TINY_RUN, name: "tiny-export", seed: 1, export: ["onnx"] };

test("export: [onnx] writes each final student as student.onnx and the report links it", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-refo-export-"));
  try {
    const runDir = join(root, "run");
    writeFileSync(join(root, "config.yaml"), stringify({ ...TINY, runDir }));
    const run = spawnSync(process.execPath, [MAIN, "refo", "--config", join(root, "config.yaml")], {
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
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
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
