import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
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

test("facekd data synth, info and pack work together", async () => {
  const { mkdtempSync, mkdirSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const sharp = (await import("sharp")).default;
  const dir = mkdtempSync(path.join(tmpdir(), "facekd-cli-"));
  const synth = run(
    "data",
    "synth",
    path.join(dir, "synth"),
    "--identities",
    "3",
    "--images",
    "2",
    "--unlabeled-identities",
    "2",
    "--unlabeled-images",
    "1",
    "--pairs",
    "4",
    "--size",
    "32",
  );
  assert.equal(synth.status, 0, synth.stderr);
  const info = run("data", "info", path.join(dir, "synth", "train", "train.rec"), "--json");
  assert.equal(info.status, 0, info.stderr);
  assert.deepEqual([JSON.parse(info.stdout).images, JSON.parse(info.stdout).identities], [6, 3]);

  for (const [who, colour] of [
    ["alice", 40],
    ["bob", 200],
  ] as const) {
    mkdirSync(path.join(dir, "faces", who), { recursive: true });
    const png = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: colour, g: 0, b: 0 } } })
      .png()
      .toBuffer();
    writeFileSync(path.join(dir, "faces", who, "1.png"), png);
  }
  const pack = run("data", "pack", path.join(dir, "faces"), path.join(dir, "faces.rec"));
  assert.equal(pack.status, 0, pack.stderr);
  const packed = run("data", "info", path.join(dir, "faces.rec"), "--json");
  assert.deepEqual([JSON.parse(packed.stdout).images, JSON.parse(packed.stdout).identities], [2, 2]);
  const missing = run("data", "pack", path.join(dir, "nope"), path.join(dir, "x.rec"));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /nope/);
});

test("facekd data align: a summary naming every skipped photo, and a message for a bad --labels", async () => {
  const { mkdirSync, readFileSync, writeFileSync } = await import("node:fs");
  const sharp = (await import("sharp")).default;
  const dir = mkdtempSync(path.join(tmpdir(), "facekd-cli-align-"));
  const photos = path.join(dir, "photos");
  mkdirSync(photos);
  writeFileSync(path.join(photos, "broken.jpg"), "not a photo");
  const wall = await sharp({ create: { width: 200, height: 150, channels: 3, background: "#808080" } })
    .jpeg()
    .toBuffer();
  writeFileSync(path.join(photos, "wall.jpg"), wall);
  const out = path.join(dir, "crops");
  const r = run("data", "align", photos, out, "--workers", "0", "--json");
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { photos: number; faces: number; skippedFiles: { file: string }[] };
  assert.deepEqual([summary.photos, summary.faces], [2, 0]);
  assert.deepEqual(
    summary.skippedFiles.map((f) => f.file),
    ["broken.jpg", "wall.jpg"],
  );
  const report = readFileSync(path.join(out, "align-report.jsonl"), "utf8").trim().split("\n");
  assert.deepEqual(
    report.map((line) => (JSON.parse(line) as { skipped: { reason: string }[] }).skipped[0]!.reason),
    ["unreadable", "no-face"],
  );
  const bad = run("data", "align", photos, out, "--labels", "folders");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--labels must be none or subfolder/);
});

test("facekd id estimates the intrinsic dimension of an embedding file", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const { knownDimensionSet } = await import("../../src/analysis/index.js");
  const { writeNpy } = await import("../../src/io/index.js");
  const file = path.join(mkdtempSync(path.join(tmpdir(), "facekd-id-")), "sphere.npy");
  writeNpy(file, knownDimensionSet("sphere", 3000, 3, { ambient: 32, seed: 1 }));
  const r = run("id", file, "--fraction", "1", "--repetitions", "5", "--json");
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { mean: number; estimates: number[]; interval: { low: number; high: number } };
  assert.equal(result.estimates.length, 5);
  assert.ok(Math.abs(result.mean - 3) < 0.15, `estimated ${result.mean} for a 3-sphere`);
  assert.ok(result.interval.low < result.mean && result.mean < result.interval.high);
  assert.equal(r.stderr, "");
  const bad = run("id", file, "--variant", "nope");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--variant: expected one of skdim, ansuini, mle/);
  // a small sample: the interval, and a warning naming the options that fix it
  const small = run("id", file, "--sample", "200", "--half-samples", "20");
  assert.equal(small.status, 0, small.stderr);
  assert.match(small.stdout, /intrinsic dimension \d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\] \(95%/);
  assert.match(small.stderr, /a sample of 200 points is below 1000.*--sample 1000 or more \(or --fraction 0\.34\)/);
  // two files of the same samples: both IDs and the paired gap; different row counts are refused
  const other = path.join(path.dirname(file), "plane.npy");
  writeNpy(other, knownDimensionSet("cube", 3000, 2, { ambient: 32, seed: 2 }));
  const pair = run("id", file, other, "--fraction", "0.5", "--repetitions", "3", "--half-samples", "20", "--json");
  assert.equal(pair.status, 0, pair.stderr);
  const both = JSON.parse(pair.stdout) as { models: { file: string; mean: number }[]; gap: { gap: number } };
  assert.deepEqual(
    both.models.map((m) => m.file),
    [file, other],
  );
  assert.ok(Math.abs(both.gap.gap - (both.models[0]!.mean - both.models[1]!.mean)) < 1e-12);
  assert.ok(both.gap.gap > 0.5, `a 3-sphere against a plane: gap ${both.gap.gap}`);
  const text = run("id", file, other, "--fraction", "0.5", "--repetitions", "3", "--half-samples", "20");
  assert.match(text.stdout, /gap .*sphere\.npy - .*plane\.npy: \d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\] \(95%, paired/);
  const short = path.join(path.dirname(file), "short.npy");
  writeNpy(short, knownDimensionSet("cube", 2999, 2, { ambient: 32, seed: 2 }));
  const mismatch = run("id", file, short);
  assert.equal(mismatch.status, 1);
  assert.match(mismatch.stderr, /sphere\.npy has 3000 rows but .*short\.npy has 2999: the gap needs/);
});

test("facekd export writes an ONNX file of a checkpoint; a bad --batch is an error naming it", async () => {
  const { mkdtempSync, statSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const dir = mkdtempSync(path.join(tmpdir(), "facekd-cli-export-"));
  const weights = fileURLToPath(new URL("../../../test/fixtures/mbf_backbone.pth", import.meta.url));
  const out = path.join(dir, "sub", "mbf.onnx");
  const r = run("export", weights, "--model", "mbf", "--out", out, "--batch", "4", "--opset", "11", "--json");
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { file: string; bytes: number; nodes: number; opset: number };
  assert.equal(result.opset, 11);
  assert.equal(statSync(out).size, result.bytes);
  assert.ok(result.nodes > 50);
  const bad = run("export", weights, "--model", "mbf", "--out", out, "--batch", "some");
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--batch must be 'dynamic' or an integer >= 1, got 'some'/);
});

test("output piped to a file or script has no colour codes, also with CI set; FORCE_COLOR brings them back", () => {
  const runDir = mkdtempSync(path.join(tmpdir(), "facekd-colour-"));
  const plan = (env: Record<string, string>) =>
    spawnSync(process.execPath, [MAIN, "demo", "--quick", "--dry-run", "--only", "data", "--run-dir", runDir], {
      encoding: "utf8",
      env: { ...process.env, ...env },
    });
  const ci = plan({ CI: "true" });
  assert.equal(ci.status, 0, ci.stderr);
  assert.match(ci.stdout, /student-labels +excluded/); // a status the plan colours on a terminal
  assert.ok(!ci.stdout.includes("\x1b["), "no escape codes in piped output");
  assert.ok(plan({ FORCE_COLOR: "1" }).stdout.includes("\x1b["), "FORCE_COLOR colours it");
});
