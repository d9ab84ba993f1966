import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import * as torch from "../../src/torch/index.js";
import { rocFromScores } from "../../src/eval/roc.js";
import { formatTarTable, formatPairTable } from "../../src/eval/tables.js";
import { writeRocPlot } from "../../src/eval/roc-plot.js";
import { verifyPairs } from "../../src/eval/pairs.js";
import { toJson, writeJson } from "../../src/io/json-file.js";

describe("result tables, JSON and ROC plots", () => {
  torch.manualSeed(4);
  const roc = rocFromScores(torch.randn([3000]).add(3), torch.randn([30000]), { fars: [1e-6, 1e-4, 1e-2] });

  test("the TAR table prints n/a where the impostors cannot resolve the FAR", () => {
    const table = formatTarTable([{ name: "mbf", roc }]).split("\n");
    assert.match(table[0]!, /\| model \| TAR@FAR=1e-6 \| TAR@FAR=1e-4 \| TAR@FAR=1e-2 \| EER +\| AUC +\|/);
    assert.match(table[1]!, /^\|-+\|/);
    assert.match(table[2]!, /\| mbf +\| +n\/a \| +\d+\.\d\d% \| +\d+\.\d\d% \| +\d+\.\d\d% \| +\d+\.\d{3}% \|/);
  });

  test("the pair table shows accuracy and VAL with their fold std", () => {
    const left = torch.zeros([40, 1]);
    const right = torch.arange(40, undefined, 1, { dtype: "float32" }).div(20).reshape([40, 1]);
    const issame = Array.from({ length: 40 }, (_, i) => i % 2 === 0);
    const table = formatPairTable([{ name: "lfw", result: verifyPairs(left, right, issame) }]);
    assert.match(table, /\| lfw \| +\d+\.\d\d% ± \d+\.\d\d% \|/);
  });

  test("JSON keeps Infinity and typed arrays readable", () => {
    assert.equal(
      toJson({ t: Infinity, n: NaN, h: new Float64Array([1, 2]) }).replace(/\s/g, ""),
      '{"t":"Infinity","n":"NaN","h":[1,2]}',
    );
    const dir = mkdtempSync(path.join(tmpdir(), "facekd-eval-"));
    try {
      const small = rocFromScores(torch.tensor([0.9, 0.4]), torch.tensor([0.5, 0.1]));
      writeJson(path.join(dir, "nested", "roc.json"), small);
      const back = JSON.parse(readFileSync(path.join(dir, "nested", "roc.json"), "utf8"));
      assert.equal(back.curve.threshold[0], "Infinity"); // the origin: accept nothing
      assert.equal(back.auc, 0.75);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the ROC plot as SVG (log-FAR axis, one line per model) and PNG", async () => {
    const other = rocFromScores(torch.randn([3000]).add(2), torch.randn([30000]));
    const dir = mkdtempSync(path.join(tmpdir(), "facekd-eval-"));
    try {
      const files = await writeRocPlot(path.join(dir, "roc"), [
        { name: "teacher", curve: roc.curve },
        { name: "student", curve: other.curve },
      ]);
      const svg = readFileSync(files.svg, "utf8");
      assert.match(svg, /^<svg/);
      assert.match(svg, /FAR \(false accept rate\)/);
      assert.match(svg, /1e-4/); // log-axis tick labels
      assert.match(svg, /teacher/);
      assert.equal((svg.match(/<path[^>]*stroke-width="2"/g) ?? []).length, 2);
      const png = readFileSync(files.png);
      assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
      assert.ok(png.readUInt32BE(16) > 480, "rendered at twice the SVG size");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
