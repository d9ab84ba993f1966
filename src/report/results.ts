// The results of a `facekd refo` run, as written to `runs/<name>/results.json` and read by the report.

/** One verification set's results for one model (the insightface 10-fold pair protocol). */
export interface VerificationSummary {
  accuracy: number; // mean 10-fold accuracy, 0..1
  accuracyStd: number;
  auc: number;
  eer: number;
  tarAtFar: { far: number; tar: number | null }[]; // null: not enough impostor pairs for that FAR
  roc: { far: number[]; tar: number[] }; // operating points, far ascending (may be ~2000 points)
}
export interface ModelResult {
  id: string; // "teacher-refo", "student-fo-refo", ...
  label: string; // "FO ← ReFO teacher"
  role: "teacher" | "student";
  kind: string; // "standard" | "refo" | "refo+" | "labels-only" | "fo" | "kd" | "th-kd" | "sh-kd" | "proxy" ...
  architecture: string; // "iresnet18-w0.25@48"
  parameters: number;
  flops: number; // multiply-adds per image
  imagesPerSecond: number | null; // inference throughput measured in the run
  /** libtorch threads the evaluation (and the throughput) ran with; absent in results of older runs. */
  threads?: number;
  intrinsicDimension: { mean: number; std: number } | null; // TwoNN on the shared sample
  verification: Record<string, VerificationSummary>; // by set name ("synthetic-pairs", "lfw", ...)
  /** A student's distillation error Phi_gamma against its teacher (the stage id) on the D1 sample, through the
   *  teacher's classifier, by temperature gamma; null for teachers and where that teacher has no classifier. */
  distillationError?: { teacher: string; values: { gamma: number; value: number }[] } | null;
  /** metrics.jsonl of the model's training stage, relative to the run folder; null for models not trained here. */
  metrics: string | null;
  stage: string; // the stage id that produced it
}
export interface StageResult {
  id: string;
  title: string;
  status: "done" | "skipped" | "failed" | "pending";
  seconds: number | null;
}
export interface RunResults {
  name: string;
  createdAt: string; // ISO time
  machine: string; // "2 cores, Linux x64, libtorch 1.13.0"
  /** The engine settings every stage of this invocation ran with; absent in results of older runs. */
  engine?: { libtorch: string; threads: number; workers: number };
  /** The id of the model the gaps are relative to (the student), and the teachers' ID before/after tailoring. */
  intrinsicGap: { reference: string; rows: { id: string; mean: number; std: number; gap: number }[] } | null;
  models: ModelResult[];
  stages: StageResult[];
  /** Short findings computed by the pipeline, e.g. "FO ← ReFO beats FO ← standard teacher by +1.2 points". */
  findings: string[];
  /** The resolved configuration of the run, as written to the run folder. */
  config: unknown;
}
