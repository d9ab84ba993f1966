import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { formatIntrinsicGapTable, intrinsicGap, writeIntrinsicGapChart } from "../../src/analysis/intrinsic-gap.js";
import { blockAnalysis, formatBlockAnalysisTable } from "../../src/analysis/block-analysis.js";
import { knownDimensionSet } from "../../src/analysis/synthetic.js";

describe("intrinsic gap and block analysis", () => {
  // a "teacher" with 12-d embeddings and a "student" with 4-d ones, of the same 6,000 samples
  const teacher = knownDimensionSet("sphere", 6000, 12, { seed: 1, ambient: 64 });
  const student = knownDimensionSet("sphere", 6000, 4, { seed: 2, ambient: 64 });
  const options = { sampleSize: 3000, repetitions: 4, normalize: false };

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
    assert.match(table, /\| student \| +\d+\.\d\d ± \d\.\d\d \| +-\d+\.\d\d \| skdim +\| +3000 \| 4 x 2700 +\|/);
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
