// A sweep's summary from its points' results: groups by everything but the seed, means with Student-t intervals
// over the seeds, the paper's comparisons as paired differences, and the text and HTML that show them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { meanInterval, PROPORTION } from "../../src/analysis/index.js";
import {
  formatSweepSummary,
  summarizeSweep,
  writeSweepCharts,
  writeSweepReport,
  type RunResults,
  type SweepPointResults,
} from "../../src/report/index.js";
import { fixtureResults } from "./fixture.js";

const SEEDS = [0, 1, 2];
// per seed: a shift both students share (the seed's data), and ReFO's own small edge that grows with beta1
const SHARED = [0.0, 0.03, -0.02];
const EDGE = [0.004, 0.006, 0.005];

function pointResults(seed: number, beta1: number): RunResults {
  const results = fixtureResults();
  const set = Object.keys(results.models[0]!.verification)[0]!;
  for (const m of results.models) {
    const v = m.verification[set]!;
    if (m.id === "student-fo-standard") v.accuracy = 0.8 + SHARED[seed]!;
    if (m.id === "student-fo-refo") v.accuracy = 0.8 + SHARED[seed]! + beta1 * EDGE[seed]!;
  }
  return results;
}

function points(): SweepPointResults[] {
  return [0.5, 1].flatMap((beta1) =>
    SEEDS.map((seed) => ({
      name: `seed=${seed}_refo.beta1=${beta1}`,
      values: { seed, "refo.beta1": beta1 },
      runDir: `points/seed=${seed}_refo.beta1=${beta1}`,
      seed,
      results: pointResults(seed, beta1),
    })),
  );
}

test("summarizeSweep: one group per value of the other keys, intervals over the seeds, paired differences", () => {
  const summary = summarizeSweep("study", "test machine", points(), "seed");
  assert.deepEqual(summary.keys, ["seed", "refo.beta1"]);
  assert.equal(summary.groups.length, 2);
  for (const [g, beta1] of [0.5, 1].entries()) {
    const group = summary.groups[g]!;
    assert.deepEqual(group.values, { "refo.beta1": beta1 });
    assert.deepEqual(group.seeds, SEEDS);
    const refo = group.models.find((m) => m.id === "student-fo-refo")!;
    const expected = meanInterval(SEEDS.map((s) => 0.8 + SHARED[s]! + beta1 * EDGE[s]!));
    assert.ok(Math.abs(refo.accuracy!.mean - expected.mean) < 1e-12);
    assert.ok(Math.abs(refo.accuracy!.low! - expected.low!) < 1e-12);
    const diff = group.comparisons.find((c) => c.a === "student-fo-refo" && c.metric === "accuracy")!;
    assert.equal(diff.b, "student-fo-standard");
    const edge = meanInterval(EDGE.map((e) => beta1 * e));
    assert.ok(Math.abs(diff.difference.mean - edge.mean) < 1e-12);
    assert.ok(Math.abs(diff.difference.high! - edge.high!) < 1e-12);
    // pairing removes the shared shift: the difference's interval lies above zero, the means' intervals overlap
    assert.ok(diff.difference.low! > 0);
    assert.deepEqual(
      diff.perSeed.map((p) => p.seed),
      SEEDS,
    );
    // comparisons need both models: the fixture has no labels-only student
    assert.ok(!group.comparisons.some((c) => c.b === "student-labels"));
  }
});

test("summarizeSweep without a swept seed: every point is its own group of one run, without intervals", () => {
  const single = points().filter((p) => p.seed === 0);
  const summary = summarizeSweep("study", "m", single, null);
  assert.equal(summary.groups.length, 2);
  const diff = summary.groups[0]!.comparisons.find((c) => c.metric === "accuracy")!;
  assert.equal(diff.difference.n, 1);
  assert.equal(diff.difference.low, null);
  assert.match(formatSweepSummary(summary), /one seed: no interval/);
});

test("the sweep's text and HTML show the intervals, the verdicts and each point's report", async () => {
  const summary = summarizeSweep("study", "test machine", points(), "seed");
  const text = formatSweepSummary(summary);
  assert.match(text, /refo\.beta1=0\.5, 3 seeds \(0, 1, 2\)/);
  assert.match(text, /FO ← ReFO minus FO ← standard, accuracy: \+0\.25 points \[\+0\.\d\d, \+0\.\d\d\] \(above zero/);
  const dir = mkdtempSync(join(tmpdir(), "facekd-sweep-report-"));
  try {
    const html = readFileSync(await writeSweepReport(dir, summary), "utf8");
    assert.equal((html.match(/<svg/g) ?? []).length, 2, "differences and accuracies as forest plots");
    assert.ok(html.includes('href="points/seed=2_refo.beta1=1/report.html"'));
    const pngs = await writeSweepCharts(join(dir, "charts"), summary);
    assert.deepEqual(
      pngs.map((f) => basename(f)),
      ["differences-accuracy.png", "accuracy.png"],
    );
    for (const png of pngs) assert.deepEqual([...readFileSync(png).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("meanInterval: a proportion's interval stays inside [0, 1]; two runs' t interval alone would pass 100%", () => {
  const wide = meanInterval([0.99, 0.8]);
  assert.ok(wide.high! > 1);
  const cut = meanInterval([0.99, 0.8], 0.95, PROPORTION);
  assert.deepEqual([cut.mean, cut.low, cut.high], [wide.mean, Math.max(0, wide.low!), 1]);
});
