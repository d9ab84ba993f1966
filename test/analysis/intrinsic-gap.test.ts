import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatIntrinsicGapTable, intrinsicGap, writeIntrinsicGapChart } from "../../src/analysis/intrinsic-gap.js";
import { blockAnalysis, formatBlockAnalysisTable } from "../../src/analysis/block-analysis.js";
import { knownDimensionSet } from "../../src/analysis/synthetic.js";
import { intrinsicDimension } from "../../src/analysis/intrinsic-dimension.js";
import { pairedGap } from "../../src/analysis/id-interval.js";
import * as torch from "../../src/torch/index.js";

describe("intrinsic gap and block analysis", () => {
  // a "teacher" with 12-d embeddings and a "student" with 4-d ones, of the same 6,000 samples
  const teacher = knownDimensionSet("sphere", 6000, 12, { seed: 1, ambient: 64 });
  const student = knownDimensionSet("sphere", 6000, 4, { seed: 2, ambient: 64 });
  const options = { sampleSize: 3000, repetitions: 4, halfSamples: 30, normalize: false };

  test("side by side, gaps to the reference, as a table and a bar chart", async () => {
    const report = intrinsicGap(
      [
        { name: "teacher", embeddings: teacher },
        { name: "student", embeddings: student },
      ],
      options,
    );
    const [t, s] = report.rows;
    assert.equal(report.reference, "teacher");
    assert.equal(t!.gap, 0);
    assert.ok(Math.abs(s!.gap - (s!.result.mean - t!.result.mean)) < 1e-12);
    assert.ok(
      t!.result.mean > 9 && s!.result.mean > 3.6 && s!.result.mean < 4.4,
      JSON.stringify(report.rows.map((r) => r.result.mean)),
    );
    const table = formatIntrinsicGapTable(report);
    const interval = String.raw`\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]`;
    const gap = String.raw`-\d+\.\d\d \[-\d+\.\d\d, -\d+\.\d\d\]`;
    assert.match(
      table,
      new RegExp(String.raw`\| student \| +${interval} +\| +\d\.\d\d \| +${gap} +\| skdim +\| +3000 \| 4 x 2700 +\|`),
    );
    assert.equal(t!.gapInterval, null);
    assert.ok(s!.gapInterval!.low < s!.gap && s!.gap < s!.gapInterval!.high);
    const dir = mkdtempSync(path.join(tmpdir(), "facekd-id-"));
    try {
      const files = await writeIntrinsicGapChart(path.join(dir, "gap"), report);
      const svg = readFileSync(files.svg, "utf8");
      assert.match(svg, /intrinsic dimension/);
      assert.match(svg, new RegExp(t!.result.mean.toFixed(2)));
      assert.deepEqual([...readFileSync(files.png).subarray(1, 4)], [80, 78, 71]); // "PNG"
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.throws(
      () =>
        intrinsicGap([
          { name: "a", embeddings: teacher },
          { name: "b", embeddings: student.narrow(0, 0, 10) },
        ]),
      /same samples/,
    );
  });

  test("the paired gap: the same points for both models, so what they share cancels", () => {
    // a student that is the teacher's embedding plus a little noise: both IDs move together from one sample of the
    // points to the next, and the gap's interval is far narrower than the two IDs' intervals combined
    const near = teacher.add(torch.randn(teacher.shape).mul(0.02));
    const a = intrinsicDimension(teacher, options);
    const b = intrinsicDimension(near, options);
    const paired = pairedGap(a, b);
    const width = (i: { low: number; high: number }) => i.high - i.low;
    assert.ok(Math.abs(paired.gap - (a.mean - b.mean)) < 1e-12);
    assert.ok(paired.interval.low < paired.gap && paired.gap < paired.interval.high);
    const unpaired = Math.hypot(width(a.interval), width(b.interval));
    assert.ok(width(paired.interval) < unpaired / 2, `paired ${width(paired.interval)}, unpaired ${unpaired}`);
    // other rows, or another number of halves, cannot be paired
    assert.throws(() => pairedGap(a, intrinsicDimension(near, { ...options, sampleSize: 2000 })), /same sample/);
    assert.throws(() => pairedGap(a, { ...b, halfSampleEstimates: b.halfSampleEstimates.slice(1) }), /same sample/);
  });

  test("block analysis: halving block sizes down to the minimum, flat on a 4-sphere", () => {
    const rows = blockAnalysis(student, { normalize: false, minBlockSize: 700 });
    assert.deepEqual(
      rows.map((r) => [r.size, r.blocks]),
      [
        [6000, 1],
        [3000, 2],
        [1500, 4],
        [750, 8],
      ],
    );
    assert.equal(rows[0]!.std, 0);
    for (const r of rows) assert.ok(Math.abs(r.mean - 4) < 0.4, `${r.size}: ${r.mean}`);
    assert.match(formatBlockAnalysisTable(rows).split("\n")[5]!, /^\| +750 \| +8 \| +\d\.\d\d ± \d\.\d\d \|$/);
  });
});
