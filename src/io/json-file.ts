// JSON files of results and run folders. Typed arrays become arrays, and the non-finite numbers that JSON cannot
// hold (a threshold of Infinity means "accept nothing") become the strings "Infinity", "-Infinity" and "NaN".
// Files are written atomically: a crash leaves the old file or the new one, never half of one.
import { mkdirSync, writeSync } from "node:fs";
import path from "node:path";
import { writeAtomically } from "./atomic.js";

export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === "number" && !Number.isFinite(v)) return String(v);
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    },
    2,
  );
}

/** Writes `value` as JSON to `file`, creating its folder. */
export function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeAtomically(file, (fd) => void writeSync(fd, toJson(value) + "\n"));
}
