// `facekd data align`: raw photos to aligned face crops (a folder or a .rec), with a per-photo report.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { alignFolder, formatAlignSummary, type AlignRecord } from "../../data/index.js";
import { integerOption } from "../parse.js";
import { progress } from "../progress.js";

interface AlignFlags {
  size: number;
  minFace: number;
  maxFaces?: number;
  workers: number;
  labels: string;
  json?: boolean;
}

export function registerDataAlign(data: Command): void {
  data
    .command("align <photos> <out>")
    .description(
      "detect faces in a folder of photos and write crops aligned to the arcface five-point template: a folder " +
        "of JPEGs, or a pack when <out> ends in .rec; a report of every photo goes beside them",
    )
    .option("--size <pixels>", "crop size (a multiple of 112 or 128)", integerOption("size", 1), 112)
    .option("--min-face <pixels>", "skip faces whose box is smaller", integerOption("min-face", 0), 32)
    .option("--max-faces <n>", "keep at most the n largest faces of a photo", integerOption("max-faces", 1))
    .option("--workers <n>", "detection threads (0: in the main thread)", integerOption("workers", 0), 1)
    .option("--labels <kind>", "none, or subfolder (one subfolder per identity)", "none")
    .option("--json", "print JSON with every photo that had a skip")
    .addHelpText(
      "after",
      "\nExamples:\n  facekd data align photos/ crops/\n  facekd data align d2-photos/ d2/d2.rec --workers 2\n" +
        "  facekd data align people/ d1/d1.rec --labels subfolder --max-faces 1\n\n" +
        "Faces come from face-api's SSD MobileNetV1 detector and 68-point landmarks (shipped in the npm package).\n" +
        "Skips: unreadable, too-large, no-face, too-small, landmarks-off-image, max-faces; the report\n" +
        "(<out>/align-report.jsonl, or <name>.align.jsonl beside a .rec) has one JSON line per photo.",
    )
    .action(async (photos: string, out: string, opts: AlignFlags) => {
      if (opts.labels !== "none" && opts.labels !== "subfolder") {
        throw new Error(`--labels must be none or subfolder, got '${opts.labels}'`);
      }
      const bar = progress("aligning");
      const summary = await alignFolder(photos, out, {
        size: opts.size,
        minFace: opts.minFace,
        ...(opts.maxFaces !== undefined ? { maxFaces: opts.maxFaces } : {}),
        workers: opts.workers,
        labeled: opts.labels === "subfolder",
        onProgress: (done, listed) => bar.update(done, listed),
      });
      bar.stop();
      if (opts.json) {
        const skippedFiles = readReport(summary.report).filter((r) => r.skipped.length > 0);
        console.log(JSON.stringify({ ...summary, skippedFiles }, null, 2));
      } else {
        console.log(formatAlignSummary(summary));
      }
    });
}

function readReport(path: string): AlignRecord[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as AlignRecord);
}
