// Reads and validates `<runDir>/results.json` and `<sweep folder>/sweep-results.json`; a wrong or missing value is
// an error naming the file and the key.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { runResultsSchema, type RunResults } from "./results.js";
import { sweepSummarySchema, type SweepSummary } from "./sweep-results.js";

export function resultsPath(runDir: string): string {
  return path.join(runDir, "results.json");
}

export function sweepResultsPath(sweepDir: string): string {
  return path.join(sweepDir, "sweep-results.json");
}

/** The run's results.json, validated. */
export const readResults = (runDir: string): RunResults =>
  readValidated(resultsPath(runDir), runResultsSchema, "`facekd refo`");

/** A sweep's sweep-results.json, validated. */
export const readSweepSummary = (sweepDir: string): SweepSummary =>
  readValidated(sweepResultsPath(sweepDir), sweepSummarySchema, "`facekd refo` with its sweep config");

function readValidated<S extends z.ZodType>(file: string, schema: S, writer: string): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${file}: cannot read it (${(error as Error).message}); run ${writer} first`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}
