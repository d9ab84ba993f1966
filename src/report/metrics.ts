// The training curves of a run's stages (the loss, and the intrinsic dimension where it was tracked), from the
// metrics.jsonl files its results point to. A file that is missing or unreadable becomes a note in the report
// rather than an error.
import path from "node:path";
import { readMetrics } from "../train/metrics.js";
import type { ModelResult } from "./results.js";

export interface CurvePoint {
  step: number;
  series: string; // "loss" or a term's name
  value: number;
}

/** The ID of a fixed sample at a step of training (metrics.idEvery of the train config), with its 95% interval. */
export interface IdPoint {
  step: number;
  mean: number;
  low: number;
  high: number;
}

export interface StageCurves {
  /** The metrics file, relative to the run folder. */
  file: string;
  stage: string;
  models: ModelResult[];
  points: CurvePoint[];
  /** Steps skipped by the trainer (a non-finite loss), with the reason. */
  skipped: { step: number; reason: string }[];
  /** The intrinsic dimension during training, when the stage tracked it. */
  intrinsicDimension: IdPoint[];
  /** Why there is no curve (file missing or unreadable, no loss records). */
  problem: string | null;
}

/** One entry per distinct metrics file, in the order of the models that name it. */
export function readStageCurves(runDir: string, models: readonly ModelResult[]): StageCurves[] {
  const byFile = new Map<string, ModelResult[]>();
  for (const m of models) if (m.metrics !== null) byFile.set(m.metrics, [...(byFile.get(m.metrics) ?? []), m]);
  return [...byFile].map(([file, owners]) => {
    const curves: StageCurves = {
      file,
      stage: owners[0]!.stage,
      models: owners,
      points: [],
      skipped: [],
      intrinsicDimension: [],
      problem: null,
    };
    let records;
    try {
      records = readMetrics(path.resolve(runDir, file));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      curves.problem = code === "ENOENT" ? `${file} is missing` : `${file}: ${(error as Error).message}`;
      return curves;
    }
    for (const r of records) {
      const id = r.id as Partial<IdPoint> | undefined;
      if (id !== undefined && [id.mean, id.low, id.high].every(Number.isFinite))
        curves.intrinsicDimension.push({ step: r.step, mean: id.mean!, low: id.low!, high: id.high! });
      if (typeof r.skipped === "string") curves.skipped.push({ step: r.step, reason: r.skipped });
      else if (typeof r.loss === "number" && Number.isFinite(r.loss)) {
        curves.points.push({ step: r.step, series: "loss", value: r.loss });
        const terms = Object.entries((r.terms ?? {}) as Record<string, unknown>);
        // a single term is the loss itself
        if (terms.length > 1)
          for (const [name, value] of terms)
            if (typeof value === "number" && Number.isFinite(value))
              curves.points.push({ step: r.step, series: name, value });
      }
    }
    if (curves.points.length === 0) curves.problem = `${file} has no loss records yet`;
    return curves;
  });
}
