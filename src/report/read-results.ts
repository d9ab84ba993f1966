// Reads and validates `<runDir>/results.json`; a wrong or missing value is an error naming the file and the key.
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { RunResults } from "./results.js";

// results.json is written by analysis/json-file.ts's toJson, which stores non-finite numbers as strings
const num = z.union([z.number(), z.enum(["Infinity", "-Infinity", "NaN"]).transform(Number)], {
  error: (issue) => `expected a number, got ${JSON.stringify(issue.input)}`,
});

const verificationSchema = z.object({
  accuracy: num,
  accuracyStd: num,
  auc: num,
  eer: num,
  tarAtFar: z.array(z.object({ far: num, tar: num.nullable() })),
  roc: z
    .object({ far: z.array(num), tar: z.array(num) })
    .refine((r) => r.far.length === r.tar.length, "far and tar must have the same length"),
});

const modelSchema = z.object({
  id: z.string().min(1),
  label: z.string(),
  role: z.enum(["teacher", "student"]),
  kind: z.string(),
  architecture: z.string(),
  parameters: num,
  flops: num,
  imagesPerSecond: num.nullable(),
  threads: z.number().int().positive().optional(),
  intrinsicDimension: z.object({ mean: num, std: num }).nullable(),
  verification: z.record(z.string(), verificationSchema),
  distillationError: z
    .object({ teacher: z.string(), values: z.array(z.object({ gamma: num, value: num })) })
    .nullable()
    .optional(),
  metrics: z.string().nullable(),
  stage: z.string(),
});

const runResultsSchema = z.object({
  name: z.string(),
  createdAt: z.string(),
  machine: z.string(),
  engine: z.object({ libtorch: z.string(), threads: z.number(), workers: z.number() }).optional(),
  intrinsicGap: z
    .object({
      reference: z.string(),
      rows: z.array(z.object({ id: z.string(), mean: num, std: num, gap: num })),
    })
    .nullable(),
  models: z.array(modelSchema),
  stages: z.array(
    z.object({
      id: z.string(),
      title: z.string(),
      status: z.enum(["done", "skipped", "failed", "pending"]),
      seconds: num.nullable(),
    }),
  ),
  findings: z.array(z.string()),
  config: z.unknown(),
});

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
