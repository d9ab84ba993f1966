// `facekd refo` with a `sweep:` section: every grid point is a refo run in `<sweep folder>/points/<name>/`, run in
// order, each resumable as any run is. Before a point runs, the stages it shares with points already run are
// adopted from them (sweep-share.ts). At the end, sweep-results.json, the text summary and sweep.html.
import { join, relative, resolve } from "node:path";
import { writeJson } from "../io/index.js";
import {
  summarizeSweep,
  sweepResultsPath,
  writeSweepReport,
  type SweepPointResults,
  type SweepSummary,
} from "../report/index.js";
import { resolveRefoConfig } from "./config.js";
import { runRefo, type PlannedStage, type RefoOptions, type RefoResult } from "./run.js";
import { acquireRunLock } from "./run-lock.js";
import { SEED_KEY, sweepPoints, type SweepPoint } from "./sweep-grid.js";
import { adoptSharedStages, shareableStages, twinKey } from "./sweep-share.js";

export type SweepOptions = Omit<RefoOptions, "only">;

export interface SweepPointRun {
  point: SweepPoint;
  runDir: string;
  plan: PlannedStage[];
  /** Stages taken from other points (a dry run: those it would take). */
  shared: string[];
  result: RefoResult | null;
}

export interface SweepResult {
  sweepDir: string;
  points: SweepPointRun[];
  /** null for a dry run. */
  summary: SweepSummary | null;
}

export async function runSweep(input: unknown, options: SweepOptions = {}): Promise<SweepResult> {
  const config = resolveRefoConfig(input);
  const points = sweepPoints(config);
  const sweepDir = resolve(options.runDir ?? config.runDir ?? join("runs", config.name));
  const log = options.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const pointDir = (p: SweepPoint) => join(sweepDir, "points", p.name);
  const runs: SweepPointRun[] = [];
  // the lock of the sweep keeps a second sweep from adopting stages that this one is writing
  const lock = options.dryRun ? null : acquireRunLock(sweepDir, log);
  try {
    for (const [i, point] of points.entries()) {
      const runDir = pointDir(point);
      const donors = points.filter((p) => p !== point).map(pointDir);
      const { plan } = await runRefo(point.config, { ...options, runDir, dryRun: true });
      if (options.dryRun) {
        const planned = new Set(runs.flatMap((r) => r.plan.map(twinKey)));
        const shared = shareableStages(plan, donors, config.fingerprint, planned);
        runs.push({ point, runDir, plan, shared, result: null });
        continue;
      }
      log(`sweep point ${i + 1}/${points.length}: ${point.name}`);
      const shared = adoptSharedStages(runDir, plan, donors, config.fingerprint);
      if (shared.length > 0) log(`    shared with earlier points: ${shared.join(", ")}`);
      const result = await runRefo(point.config, { ...options, runDir });
      runs.push({ point, runDir, plan: result.plan, shared, result });
    }
    if (options.dryRun) return { sweepDir, points: runs, summary: null };
    const results: SweepPointResults[] = runs.map(({ point, runDir, result }) => ({
      name: point.name,
      values: point.values,
      runDir: relative(sweepDir, runDir),
      seed: point.config.seed,
      results: result!.results!,
    }));
    const seedKey = SEED_KEY in (config.sweep ?? {}) ? SEED_KEY : null;
    const summary = summarizeSweep(config.name, results[0]!.results.machine, results, seedKey);
    writeJson(sweepResultsPath(sweepDir), summary);
    await writeSweepReport(sweepDir, summary);
    return { sweepDir, points: runs, summary };
  } finally {
    lock?.release();
  }
}
