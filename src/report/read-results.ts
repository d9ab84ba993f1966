// Reads and validates `<runDir>/results.json`; a wrong or missing value is an error naming the file and the key.
import { readFileSync } from "node:fs";
import path from "node:path";
import { runResultsSchema, type RunResults } from "./results.js";

export function resultsPath(runDir: string): string {
  return path.join(runDir, "results.json");
}

/** The run's results.json, validated. */
export function readResults(runDir: string): RunResults {
  const file = resultsPath(runDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`${file}: cannot read the run's results (${(error as Error).message}); run \`facekd refo\` first`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = runResultsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${issue.path.join(".") || "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}
