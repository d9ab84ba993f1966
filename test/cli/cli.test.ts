import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });

test("facekd models --json lists registered models with exact parameter counts", () => {
  const r = run("models", "--filter", "mbf", "--json");
  assert.equal(r.status, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { name: string; parameters: number; embeddingSize: number }[];
  const mbf = rows.find((m) => m.name === "mbf");
  assert.equal(mbf?.parameters, 2_059_520);
  assert.equal(mbf?.embeddingSize, 512);
  assert.ok(rows.every((m) => m.name.includes("mbf")));
});

test("facekd info prints the engine; unknown commands and filters fail with a message", () => {
  const info = run("info", "--json");
  assert.equal(info.status, 0, info.stderr);
  assert.match(JSON.parse(info.stdout).libtorch, /^\d+\.\d+/);
  const bogus = run("bogus");
  assert.notEqual(bogus.status, 0);
  assert.match(bogus.stderr, /unknown command 'bogus'/);
  const none = run("models", "--filter", "no-such-model");
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no registered model name contains 'no-such-model'/);
  const help = run("models", "--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Examples:/);
});
