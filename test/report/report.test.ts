import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { registerReport } from "../../src/cli/commands/report.js";
import { formatResultsTable, writeReport, type IjbSummary } from "../../src/report/index.js";
import { bestStudent } from "../../src/report/tables.js";
import { FIXTURE_METRICS, fixtureResults, writeFixtureRun } from "./fixture.js";

const NAMESPACES = ["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/1999/xhtml"];

describe("facekd report", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "facekd-report-"));
  const results = fixtureResults();

  test("writes a self-contained report.html with the tables, one SVG per chart and the config", async () => {
    const run = writeFixtureRun(path.join(dir, "run"));
    const file = await writeReport(run);
    assert.equal(file, path.join(run, "report.html"));
    const html = readFileSync(file, "utf8");

    const rows = [...html.matchAll(/<tr[^>]*data-model="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      rows,
      results.models.map((m) => m.id),
    );
    for (const m of results.models) assert.ok(html.includes(m.label), m.label);
    // the best student by accuracy on the first set is highlighted
    const best = results.models
      .filter((m) => m.role === "student")
      .sort((a, b) => b.verification["synthetic-pairs"]!.accuracy - a.verification["synthetic-pairs"]!.accuracy)[0]!;
    assert.match(html, new RegExp(`<tr class="best" data-model="${best.id}"`));
    assert.equal(html.match(/class="best"/g)?.length, 1);
    // TAR columns at 1e-3 and 1e-2, with n/a where a model has too few impostor pairs
    assert.match(html, /<th>TAR@1e-3<\/th>/);
    assert.match(html, /<th>TAR@1e-2<\/th>/);
    assert.doesNotMatch(html, /TAR@1e-1/);
    assert.match(html, /<td class="num">n\/a<\/td>/);

    // loss charts for the metrics files that exist, one ROC per set, the ID chart
    const sets = new Set(results.models.flatMap((m) => Object.keys(m.verification)));
    const charts = Object.keys(FIXTURE_METRICS).length + sets.size + 1;
    assert.equal(html.match(/<svg/g)?.length, charts);
    assert.equal(html.match(/<figure class="chart">/g)?.length, charts);
    assert.match(html, /student-fo-standard\/metrics\.jsonl is missing/);
    assert.match(html, /1 skipped steps/);

    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    assert.ok(urls.length > 0); // the SVG namespaces
    assert.deepEqual(
      urls.filter((u) => !NAMESPACES.includes(u)),
      [],
    );
    assert.doesNotMatch(html, /<script|<link|src=/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(html, /<details>.*&quot;reverseWeight&quot;: 0\.4/s);
    for (const s of results.stages) assert.ok(html.includes(s.title), s.title);
  });

  test("IJB-B/C results get a table with every FAR, a ROC chart, and their headline TAR in the text table", async () => {
    const withIjb = fixtureResults();
    const ijb = (tar: number | null): IjbSummary => ({
      target: "IJBC",
      faces: 469_375,
      templates: 23_124,
      auc: 0.995,
      eer: 0.021,
      tarAtFar: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1].map((far) => ({
        far,
        tar: far < 1e-4 ? null : far < 1e-3 ? tar : 0.97,
      })),
      roc: { far: [0, 1e-4, 1e-3, 1e-1, 1], tar: [0, tar ?? 0.5, 0.97, 0.98, 1] },
    });
    withIjb.models[2]!.ijb = ijb(0.8123);
    withIjb.models[3]!.ijb = ijb(0.8467);
    const html = readFileSync(await writeReport(writeFixtureRun(path.join(dir, "ijb"), withIjb)), "utf8");
    const table = /<h2>IJB-B\/C<\/h2>(.*?)<\/table>/s.exec(html)?.[1] ?? "";
    assert.match(table, /IJBC: 469\.4 k faces in 23\.1 k templates/);
    assert.equal(table.match(/<th>TAR@/g)?.length, 6);
    assert.deepEqual(
      [...table.matchAll(/<td class="name">([^<]+)<\/td>/g)].map((m) => m[1]),
      [withIjb.models[2]!.label, withIjb.models[3]!.label],
    );
    assert.match(table, /<td class="num">81\.23<\/td>/);
    assert.match(table, /<td class="num">n\/a<\/td>/);
    const sets = new Set(withIjb.models.flatMap((m) => Object.keys(m.verification)));
    assert.equal(html.match(/<svg/g)?.length, Object.keys(FIXTURE_METRICS).length + sets.size + 1 + 1);
    assert.match(html, /IJBC template pairs: TAR against FAR/);
    const text = formatResultsTable(withIjb).split("\n");
    assert.match(text[0]!, /IJBC TAR@FAR=0\.0001/);
    assert.match(
      text.find((l) => l.includes(withIjb.models[3]!.label))!,
      / 84\.67% \|$/,
    );
    assert.match(
      text.find((l) => l.includes(withIjb.models[0]!.label))!,
      / n\/a \|$/,
    );
  });

  test("the command writes the report and prints its path, --json as an object", async () => {
    const run = writeFixtureRun(path.join(dir, "cli"));
    const printed: string[] = [];
    const log = console.log;
    console.log = (text: string) => void printed.push(text);
    try {
      const program = new Command().exitOverride();
      registerReport(program);
      await program.parseAsync(["report", run], { from: "user" });
      await program.parseAsync(["report", run, "--json"], { from: "user" });
    } finally {
      console.log = log;
    }
    const report = path.join(run, "report.html");
    assert.deepEqual(printed.slice(0, 1), [report]);
    assert.deepEqual(JSON.parse(printed[1]!), { report });
    assert.ok(existsSync(report));

    const help: string[] = [];
    const program = new Command().exitOverride().configureOutput({ writeOut: (text) => void help.push(text) });
    registerReport(program);
    await assert.rejects(program.parseAsync(["report", "--help"], { from: "user" }), {
      code: "commander.helpDisplayed",
    });
    assert.match(help.join(""), /--json[\s\S]*Examples:\n {2}facekd report runs\/demo/);
  });

  test("intervals in the tables, and a chart of the ID during training where metrics.jsonl tracked it", async () => {
    const withIntervals = fixtureResults();
    const interval = (mean: number) => ({ low: mean - 0.5, high: mean + 0.5, level: 0.95 });
    for (const m of withIntervals.models) {
      const id = m.intrinsicDimension!;
      m.intrinsicDimension = { ...id, interval: interval(id.mean), sampleSize: 2000, smallSample: false };
    }
    for (const r of withIntervals.intrinsicGap!.rows) {
      r.interval = interval(r.mean);
      r.gapInterval = r.gap === 0 ? null : { low: r.gap - 0.3, high: r.gap + 0.3, level: 0.95 };
    }
    const run = writeFixtureRun(path.join(dir, "intervals"), withIntervals);
    const tracked = [100, 200, 300].map((step, i) => ({
      step,
      id: { mean: 14 - 2 * i, std: 0.1, low: 13.5 - 2 * i, high: 14.5 - 2 * i, sampleSize: 2000, smallSample: false },
    }));
    appendFileSync(path.join(run, "teacher/metrics.jsonl"), tracked.map((r) => JSON.stringify(r) + "\n").join(""));
    const html = readFileSync(await writeReport(run), "utf8");
    assert.match(html, /<td class="num">14\.10 <span class="sub">\[13\.60, 14\.60\]<\/span><\/td>/);
    assert.match(html, /<td class="num">\+6\.00 <span class="sub">\[\+5\.70, \+6\.30\]<\/span><\/td>/);
    assert.match(html, /<h2>Intrinsic dimension during training<\/h2>/);
    assert.match(html, /Standard teacher: ID during training/);
    // the loss charts, the ROC charts, the ID bars and now one ID curve
    const sets = new Set(withIntervals.models.flatMap((m) => Object.keys(m.verification)));
    assert.equal(html.match(/<svg/g)?.length, Object.keys(FIXTURE_METRICS).length + sets.size + 2);
    // the fixture without intervals (results of older runs) has no such section
    const old = readFileSync(path.join(dir, "run", "report.html"), "utf8");
    assert.doesNotMatch(old, /during training/);
  });

  test("the best-student badge compares students of S''s architecture, never a wider proxy", () => {
    const models = fixtureResults().models;
    const foRefo = models.find((m) => m.id === "student-fo-refo")!;
    const proxy = { ...foRefo, id: "student-wider", kind: "proxy", architecture: "mbf-w0.5@32" };
    proxy.verification = { "synthetic-pairs": { ...foRefo.verification["synthetic-pairs"]!, accuracy: 0.99 } };
    const withProxy = [...models, proxy];
    assert.deepEqual(
      [bestStudent(withProxy)?.model.id, bestStudent(withProxy)?.architecture],
      ["student-fo-refo", "mbf-w0.25@32"],
    );
    // S' names the architecture even where the proxies outnumber the students of its own
    const sPrime = { ...foRefo, id: "student-labels", kind: "labels-only", architecture: "mbf-w0.5@32" };
    assert.equal(bestStudent([...withProxy, sPrime])?.model.id, "student-wider");
  });

  test("a missing or malformed results.json is an error naming the file and the key", async () => {
    const run = path.join(dir, "bad");
    await assert.rejects(writeReport(run), /bad\/results\.json: cannot read .*facekd refo/);
    const bad = fixtureResults() as unknown as { models: { verification: Record<string, { auc: unknown }> }[] };
    bad.models[2]!.verification["lfw"]!.auc = "high";
    writeFixtureRun(run, bad as unknown as ReturnType<typeof fixtureResults>);
    await assert.rejects(writeReport(run), /bad\/results\.json: models\.2\.verification\.lfw\.auc: .*number/);
    writeFileSync(path.join(run, "results.json"), JSON.stringify({ ...fixtureResults(), stages: [{ id: "x" }] }));
    await assert.rejects(writeReport(run), /results\.json: stages\.0\.title/);
    writeFileSync(path.join(run, "results.json"), "{ not json");
    await assert.rejects(writeReport(run), /results\.json: not valid JSON/);
    assert.ok(!existsSync(path.join(run, "report.html")));
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
});
