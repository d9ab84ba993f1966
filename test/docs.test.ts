// The README's configuration, loss and stage tables are generated from the schemas and registries the code runs
// on (scripts/readme-sections.ts): this fails when they differ, so the docs cannot drift.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { renderReadme, SECTIONS } from "../scripts/readme-sections.js";

const root = path.resolve(fileURLToPath(import.meta.url), "../../..");

test("the README's generated tables match the schemas and registries (npm run gen:docs rewrites them)", async () => {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const previous = process.cwd();
  process.chdir(root); // prettier's configuration is found from the README's folder
  try {
    assert.equal(readme, await renderReadme(readme), "README.md is stale: run `npm run gen:docs`");
  } finally {
    process.chdir(previous);
  }
  // every registered loss, every refo config key and the ReFO stages are there
  for (const name of ["`fo`", "`reverse`", "`ekd`", "`refo.beta1`", "`refoPlus.proxy`", "`teacher-refo`"]) {
    assert.ok(readme.includes(`| ${name}`), name);
  }
  assert.deepEqual(Object.keys(SECTIONS).sort(), ["config", "losses", "stages"]);
});

test("a README without a section's markers is an error naming the section", async () => {
  await assert.rejects(renderReadme("# facekd\n"), /markers of the generated section 'config' are missing/);
});
