// The report in a real browser (Debian's chromium through playwright-core): it renders offline, the tables and
// charts are there with visible marks, and a full-page screenshot is written next to the report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import sharp from "sharp";
import { writeReport } from "../../src/report/index.js";
import { FIXTURE_METRICS, fixtureResults, writeFixtureRun } from "./fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

test("the report renders offline in chromium: models table, drawn charts, full-page screenshot", async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/install.sh installs it)`);
  const results = fixtureResults();
  const dir = mkdtempSync(path.join(tmpdir(), "facekd-report-browser-"));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const report = await writeReport(writeFixtureRun(dir, results));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const requests: string[] = [];
    page.on("request", (r) => void requests.push(r.url()));
    await page.goto(pathToFileURL(report).href, { waitUntil: "load" });

    assert.equal(await page.locator("table.models tbody tr").count(), results.models.length);
    const charts = await page.$$eval("figure.chart svg", (svgs) =>
      svgs.map((svg) => {
        const box = svg.getBoundingClientRect();
        const drawn = (selector: string) =>
          [...svg.querySelectorAll(selector)].filter((p) => (p.getAttribute("d") ?? "").length > 10).length;
        const title = svg.querySelector(".role-title")?.textContent ?? "";
        return {
          title,
          width: box.width,
          height: box.height,
          lines: drawn(".mark-line path"),
          bars: drawn(".mark-rect path"),
        };
      }),
    );
    const sets = new Set(results.models.flatMap((m) => Object.keys(m.verification)));
    assert.equal(charts.length, Object.keys(FIXTURE_METRICS).length + sets.size + 1); // loss, ROC, ID
    for (const c of charts) assert.ok(c.width > 300 && c.height > 200 && c.lines + c.bars > 0, JSON.stringify(c));
    for (const set of sets) {
      const roc = charts.find((c) => c.title === `ROC: ${set}`);
      assert.equal(roc?.lines, results.models.filter((m) => m.verification[set]).length, `ROC of ${set}`);
    }
    const id = charts.find((c) => c.title.startsWith("Intrinsic dimension"));
    assert.equal(id?.bars, results.models.filter((m) => m.intrinsicDimension !== null).length);
    assert.deepEqual(
      requests.filter((u) => !u.startsWith("file:")),
      [],
    );

    const screenshot = path.join(dir, "report.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    const image = sharp(screenshot);
    const { width, height } = await image.metadata();
    const { channels } = await image.stats();
    assert.ok(width === 1280 && height! > 1500, `${width}x${height}`);
    assert.ok(channels[0]!.stdev > 10, `a blank page? stdev ${channels[0]!.stdev}`);
  } finally {
    await browser.close();
    // FACEKD_KEEP_REPORT=1 keeps the report and its screenshot to look at
    if (!process.env.FACEKD_KEEP_REPORT) rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
});
