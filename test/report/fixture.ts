// A hand-written `facekd refo` run folder: results.json for four models (two teachers, two students) on two
// verification sets, and the metrics.jsonl of two training stages; a third stage's metrics file is missing.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ModelResult, RunResults, VerificationSummary } from "../../src/report/results.js";

/** A smooth ROC, TAR = FAR^(1/sharpness), from FAR 0 to 1, and the summary around it. */
function verification(accuracy: number, sharpness: number, points = 200): VerificationSummary {
  const far = [0, ...Array.from({ length: points }, (_, i) => 10 ** (-4 + (4 * i) / (points - 1)))];
  const tar = far.map((f) => (f === 0 ? 0 : f ** (1 / sharpness)));
  const tarAt = (f: number) => f ** (1 / sharpness);
  return {
    accuracy,
    accuracyStd: 0.004,
    auc: 1 - 1 / (sharpness + 1),
    eer: 1 / (sharpness + 2),
    tarAtFar: [
      { far: 1e-3, tar: sharpness > 5 ? tarAt(1e-3) : null },
      { far: 1e-2, tar: tarAt(1e-2) },
      { far: 1e-1, tar: tarAt(1e-1) },
    ],
    roc: { far, tar },
  };
}

function model(
  id: string,
  label: string,
  role: ModelResult["role"],
  kind: string,
  extra: Partial<ModelResult> & Pick<ModelResult, "verification" | "metrics" | "stage">,
): ModelResult {
  const teacher = role === "teacher";
  return {
    id,
    label,
    role,
    kind,
    architecture: teacher ? "iresnet18-w0.25@48" : "mbf-w0.25@32",
    parameters: teacher ? 1_750_000 : 262_000,
    flops: teacher ? 44_000_000 : 6_100_000,
    imagesPerSecond: teacher ? 410 : 2300,
    intrinsicDimension: { mean: teacher ? 14.1 : 8, std: 0.4 },
    ...extra,
  };
}

export function fixtureResults(): RunResults {
  return {
    name: "fixture-run",
    createdAt: "2026-11-22T12:00:00.000Z",
    machine: "2 cores, Linux x64, libtorch 1.13.0",
    intrinsicGap: {
      reference: "student-fo-refo",
      rows: [
        { id: "teacher-standard", mean: 14.1, std: 0.4, gap: 6.0 },
        { id: "teacher-refo", mean: 9.3, std: 0.3, gap: 1.2 },
        { id: "student-fo-refo", mean: 8.1, std: 0.2, gap: 0 },
      ],
    },
    models: [
      model("teacher-standard", "Standard teacher", "teacher", "standard", {
        verification: { "synthetic-pairs": verification(0.95, 8), lfw: verification(0.97, 9) },
        metrics: "teacher/metrics.jsonl",
        stage: "teacher",
      }),
      model("teacher-refo", "ReFO teacher", "teacher", "refo", {
        intrinsicDimension: { mean: 9.3, std: 0.3 },
        verification: { "synthetic-pairs": verification(0.94, 7) },
        metrics: null,
        stage: "refo-teacher",
      }),
      model("student-fo-standard", "FO ← standard teacher", "student", "fo", {
        verification: { "synthetic-pairs": verification(0.88, 4), lfw: verification(0.9, 4) },
        metrics: "student-fo-standard/metrics.jsonl",
        stage: "student-fo-standard",
      }),
      model("student-fo-refo", "FO ← ReFO teacher", "student", "fo", {
        intrinsicDimension: { mean: 8.1, std: 0.2 },
        verification: { "synthetic-pairs": verification(0.91, 6), lfw: verification(0.92, 5) },
        metrics: "student-fo-refo/metrics.jsonl",
        stage: "student-fo-refo",
      }),
    ],
    stages: [
      { id: "teacher", title: "Standard teacher (ArcFace)", status: "done", seconds: 312.4 },
      { id: "refo-teacher", title: "ReFO teacher (reverse distillation)", status: "skipped", seconds: null },
      { id: "student-fo-standard", title: "FO student of the standard teacher", status: "failed", seconds: 12.5 },
      { id: "student-fo-refo", title: "FO student of the ReFO teacher", status: "done", seconds: 3725 },
      { id: "eval", title: "Evaluation", status: "pending", seconds: null },
    ],
    findings: [
      "FO ← ReFO teacher beats FO ← standard teacher by +3.0 points on synthetic-pairs",
      "The ReFO teacher's intrinsic dimension is 4.8 closer to the student's <script>alert(1)</script>",
    ],
    config: { name: "fixture-run", seed: 0, refo: { reverseWeight: 0.4, teacher: "iresnet18-w0.25@48" } },
  };
}

/** Training records: a decaying loss with `terms`, an eval line, and one skipped step. */
function metricsLines(steps: number, start: number, terms: string[]): string {
  const lines: object[] = [];
  for (let step = 10; step <= steps; step += 10) {
    const loss = start * Math.exp(-step / steps) + 0.1 * Math.sin(step);
    const split = Object.fromEntries(terms.map((t, i) => [t, loss / (i + 1) / (terms.length > 1 ? 1.5 : 1)]));
    if (step === 30) lines.push({ step, skipped: "the loss is NaN", terms: split });
    else lines.push({ step, epoch: Math.floor(step / 100), loss, terms: split, lr: 0.1, imagesPerSecond: 150 });
    if (step % 100 === 0) lines.push({ step, eval: { "synthetic-pairs": { accuracy: 0.8 } } });
  }
  return lines.map((l) => JSON.stringify(l) + "\n").join("");
}

/** The metrics files writeFixtureRun writes (the others that results.json names are missing). */
export const FIXTURE_METRICS = {
  "teacher/metrics.jsonl": metricsLines(300, 30, ["arcface"]),
  "student-fo-refo/metrics.jsonl": metricsLines(200, 2, ["feature", "arcface"]),
};

/** Writes the run folder (results.json and the metrics files that exist) into `dir`; returns `dir`. */
export function writeFixtureRun(dir: string, results: RunResults = fixtureResults()): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "results.json"), JSON.stringify(results, null, 2));
  for (const [file, text] of Object.entries(FIXTURE_METRICS)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}
