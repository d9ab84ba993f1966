// The alignment benchmark: photos per second of `facekd data align` (decode, SSD MobileNetV1 detection, 68-point
// landmarks, warp, JPEG encode, write) with 1 and 2 worker threads, on the photographs that ship with
// @vladmandic/face-api (1920 px wide, 3-5 faces each), copied to make a folder. Also writes the contact sheet of
// their crops (docs/align-contact-sheet.jpg).
// Run: `npx tsc -p tsconfig.json && node dist/bench/align.js [--copies C] [--repeats R]`; see bench/README.md.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { alignFolder } from "../src/data/align/align-folder.js";
import { sampleGrid } from "../src/data/grid.js";
import { benchArgs, numberArg, ROOT } from "./options.js";

const USAGE = `usage: node dist/bench/align.js [options]
  --copies C      copies of each of the 6 sample photos in the timed folder (default 4: 24 photos)
  --repeats R     timed runs per worker count, alternating; the median is reported (default 3)
  --sheet FILE    the contact sheet (default docs/align-contact-sheet.jpg; "none" skips it)`;

const opts = benchArgs(USAGE, { copies: { type: "string" }, repeats: { type: "string" }, sheet: { type: "string" } });
const COPIES = numberArg(USAGE, "copies", opts.copies, 4);
const REPEATS = numberArg(USAGE, "repeats", opts.repeats, 3);
const SHEET = opts.sheet ?? path.join(ROOT, "docs", "align-contact-sheet.jpg");

const samples = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@vladmandic/face-api/package.json")),
  "demo",
);
const names = readdirSync(samples)
  .filter((name) => /^sample\d\.jpg$/.test(name))
  .sort();
const work = mkdtempSync(path.join(os.tmpdir(), "facekd-bench-align-"));

try {
  const photos = path.join(work, "photos");
  mkdirSync(photos);
  for (let c = 0; c < COPIES; c++) {
    for (const name of names) copyFileSync(path.join(samples, name), path.join(photos, `${c}-${name}`));
  }
  const count = COPIES * names.length;
  const machine = `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.availableParallelism()} cores`;
  console.log(`facekd align benchmark: ${count} photos (1920 px); ${machine}, load ${os.loadavg()[0]!.toFixed(1)}`);
  const times = new Map<number, number[]>([
    [1, []],
    [2, []],
  ]);
  // CPU seconds of the whole process (every thread): what a photo costs whatever else the machine runs
  const cpu = new Map<number, number[]>([
    [1, []],
    [2, []],
  ]);
  let faces = 0;
  for (let r = 0; r < REPEATS; r++) {
    for (const workers of r % 2 === 0 ? [1, 2] : [2, 1]) {
      const out = path.join(work, `crops-${workers}-${r}`);
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const summary = await alignFolder(photos, out, { workers });
      times.get(workers)!.push((performance.now() - start) / 1000);
      const used = process.cpuUsage(cpuStart);
      cpu.get(workers)!.push((used.user + used.system) / 1e6);
      faces = summary.faces;
      rmSync(out, { recursive: true });
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rate = (workers: number): number => count / median(times.get(workers)!);
  for (const workers of [1, 2]) {
    const cpuPerPhoto = median(cpu.get(workers)!) / count;
    console.log(
      `  ${workers} worker thread(s): ${rate(workers).toFixed(2)} photos/s, ${cpuPerPhoto.toFixed(2)} CPU s/photo ` +
        `(${faces} faces per run, worker start included)`,
    );
  }
  console.log(`  2 workers / 1 worker: ${(rate(2) / rate(1)).toFixed(2)}x; load now ${os.loadavg()[0]!.toFixed(1)}`);

  if (SHEET !== "none") {
    const sheetPhotos = path.join(work, "sheet");
    mkdirSync(sheetPhotos);
    for (const name of names) copyFileSync(path.join(samples, name), path.join(sheetPhotos, name));
    const crops = path.join(work, "sheet-crops");
    await alignFolder(sheetPhotos, crops, { workers: 1 });
    const files = readdirSync(crops)
      .filter((name) => name.endsWith(".jpg"))
      .sort();
    const grid = await sampleGrid(
      files.map((name) => readFileSync(path.join(crops, name))),
      8,
    );
    writeFileSync(SHEET, await sharp(grid).jpeg({ quality: 85 }).toBuffer());
    console.log(`  contact sheet of ${files.length} crops: ${SHEET}`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
