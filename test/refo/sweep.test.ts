// Sweeps: the grid of a `sweep:` section, each point a refo run in one folder, the stages alike at several points
// run once (adopted by hard links), the summary over seeds, and a rerun that finds everything done.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveRefoConfig, runSweep, sweepPoints } from "../../src/refo/index.js";
import { readSweepSummary } from "../../src/report/index.js";
import { TINY_RUN } from "./tiny-synthetic.js";

const TINY = {
  ...TINY_RUN,
  name: "tiny-sweep",
  sweep: { seed: [1, 2], "refo.beta1": [0.5, 2] },
};

test("sweepPoints: the cartesian product, named by their values, each a checked config", () => {
  const points = sweepPoints(resolveRefoConfig(TINY));
  assert.deepEqual(
    points.map((p) => p.name),
    ["seed=1_refo.beta1=0.5", "seed=1_refo.beta1=2", "seed=2_refo.beta1=0.5", "seed=2_refo.beta1=2"],
  );
  assert.deepEqual(
    points.map((p) => [p.config.seed, p.config.refo.beta1]),
    [
      [1, 0.5],
      [1, 2],
      [2, 0.5],
      [2, 2],
    ],
  );
  assert.ok(points.every((p) => p.config.sweep === undefined));
});

test("sweepPoints: a bad key or value is an error at sweep.<key>; the folder's keys cannot be swept", () => {
  const bad = (sweep: object) => () => sweepPoints(resolveRefoConfig({ ...TINY, sweep }));
  assert.throws(bad({ "refo.beta3": [1] }), /sweep\.refo\.beta3 1: refo\.beta3 is not a known key/);
  assert.throws(bad({ "student.steps": [10, -1] }), /sweep\.student\.steps -1: student\.steps must be > 0/);
  assert.throws(bad({ runDir: ["a", "b"] }), /sweep\.runDir cannot be swept/);
  assert.throws(() => resolveRefoConfig({ ...TINY, sweep: { seed: [] } }), /sweep\.seed must have at least 1 items/);
});

test("runSweep: stages alike across points run once, the summary is over seeds, a rerun does nothing", async () => {
  const root = mkdtempSync(join(tmpdir(), "facekd-sweep-"));
  try {
    const logs: string[] = [];
    const dry = await runSweep(TINY, { runDir: root, dryRun: true, log: () => undefined });
    const secondPoint = dry.points[1]!;
    // beta1 changes the ReFO teacher and what follows it; S', the standard teacher and FO ← standard are the seed's
    for (const id of ["data", "student-labels", "teacher-standard", "student-fo-standard"]) {
      assert.ok(secondPoint.shared.includes(id), `${id} is shared`);
    }
    assert.ok(!secondPoint.shared.includes("teacher-refo"));
    assert.deepEqual(dry.points[2]!.shared, [], "another seed shares nothing");

    const result = await runSweep(TINY, { runDir: root, log: (l) => logs.push(l) });
    assert.deepEqual(result.points[1]!.shared, secondPoint.shared);
    const model = (point: string, stage: string) => join(root, "points", point, "stages", stage, "model.safetensors");
    const [a, b] = [model("seed=1_refo.beta1=0.5", "student-labels"), model("seed=1_refo.beta1=2", "student-labels")];
    assert.equal(statSync(a).ino, statSync(b).ino, "S' trained once and hard-linked");
    assert.notEqual(
      statSync(model("seed=1_refo.beta1=0.5", "teacher-refo")).ino,
      statSync(model("seed=1_refo.beta1=2", "teacher-refo")).ino,
    );
    assert.equal(logs.filter((l) => /^\[\d+\/\d+\] student-labels:/.test(l)).length, 2, "once per seed");

    const summary = readSweepSummary(root);
    assert.equal(summary.groups.length, 2);
    assert.deepEqual(summary.groups[0]!.seeds, [1, 2]);
    const diff = summary.groups[0]!.comparisons.find((c) => c.a === "student-fo-refo" && c.metric === "accuracy")!;
    assert.equal(diff.difference.n, 2);
    assert.ok(diff.difference.low !== null && diff.difference.low <= diff.difference.mean);
    assert.ok(readFileSync(join(root, "sweep.html"), "utf8").includes("<svg"));

    const again = await runSweep(TINY, { runDir: root, dryRun: true, log: () => undefined });
    for (const point of again.points) {
      assert.deepEqual(
        point.plan.filter((s) => s.status !== "done" && s.id !== "results").map((s) => s.id),
        [],
        point.point.name,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
