// metrics.jsonl: one JSON object per line, each with the step it describes. A resumed run first drops the lines
// after its checkpoint's step, so the file reads as one uninterrupted run.
import { appendFileSync, existsSync, readFileSync, writeSync } from "node:fs";
import { writeAtomically } from "../io/index.js";

export interface MetricsRecord {
  step: number;
  [key: string]: unknown;
}

export class MetricsLog {
  constructor(readonly file: string) {}

  /** Keeps the records up to `step` (all of them when the file is new). */
  truncateAfter(step: number): void {
    if (!existsSync(this.file)) return;
    const kept = readMetrics(this.file).filter((r) => r.step <= step);
    const text = kept.map((r) => JSON.stringify(r) + "\n").join("");
    writeAtomically(this.file, (fd) => void writeSync(fd, text));
  }

  append(record: MetricsRecord): void {
    appendFileSync(this.file, JSON.stringify(record) + "\n");
  }
}

/** The records of a metrics.jsonl file; a torn last line (a crash while appending) is left out. */
export function readMetrics(file: string): MetricsRecord[] {
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
  const records: MetricsRecord[] = [];
  lines.forEach((line, i) => {
    try {
      records.push(JSON.parse(line) as MetricsRecord);
    } catch (error) {
      if (i < lines.length - 1) throw new Error(`${file}: line ${i + 1} is not JSON`, { cause: error });
    }
  });
  return records;
}
