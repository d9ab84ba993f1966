// The design's rules, checked on the source tree: layers import downward only, no import cycles (both from
// .dependency-cruiser.cjs), and no hand-written source file over 400 lines.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { cruise, type ICruiseResult } from "dependency-cruiser";
import extractDepcruiseConfig from "dependency-cruiser/config-utl/extract-depcruise-config";

const root = path.resolve(fileURLToPath(import.meta.url), "../../..");

test("src/ keeps its layers and has no import cycle", async () => {
  const previous = process.cwd();
  process.chdir(root);
  try {
    const config = await extractDepcruiseConfig("./.dependency-cruiser.cjs");
    const { output } = await cruise(["src"], { ...config.options, ruleSet: { forbidden: config.forbidden } });
    const { summary } = output as ICruiseResult;
    assert.ok(summary.totalCruised > 150, `cruised ${summary.totalCruised} modules: is src/ there?`);
    const violations = summary.violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`);
    assert.deepEqual(violations, []);
  } finally {
    process.chdir(previous);
  }
});

test("no hand-written source file is over 400 lines", async () => {
  const { execFileSync } = await import("node:child_process");
  const files = execFileSync("git", ["ls-files", "src"], { cwd: root, encoding: "utf8" })
    .split("\n")
    .filter((f) => f.endsWith(".ts") && !f.startsWith("src/torch/generated/"));
  assert.ok(files.length > 100, `found ${files.length} files`);
  const long = files
    .map((f) => ({ f, lines: readFileSync(path.join(root, f), "utf8").split("\n").length }))
    .filter(({ lines }) => lines > 400)
    .map(({ f, lines }) => `${f}: ${lines} lines`);
  assert.deepEqual(long, []);
});
