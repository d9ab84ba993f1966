// `facekd refo` as a library call: check the config and its files, plan the stages, lock the run folder, skip the
// finished stages, resume the interrupted one, run the rest in order, and write results.json and report.html.
import { join, resolve } from "node:path";
import * as torch from "../torch/index.js";
import { readResults, type RunResults } from "../report/index.js";

import { resolveRefoConfig } from "./config.js";
import { runPaths, type StageContext } from "./context.js";
import { inputFingerprints } from "./inputs.js";
import { planStages, RESULTS, type Stage } from "./plan.js";
import { preflight } from "./preflight.js";
import { acquireRunLock } from "./run-lock.js";
import { fingerprints, StageFolders, type StageStatus } from "./stage-state.js";
import { runStage } from "./stages/index.js";
import { writeJson } from "../io/index.js";
import type { ProcessGroup } from "../torch/distributed.js";

export interface RefoOptions {
  /** The run folder (default: config.runDir, else runs/<name>). */
  runDir?: string;
  /** Run this stage and every stage downstream of it again, finished or not. */
  fromStage?: string;
  /** Run only this stage (the stages it needs must be finished). */
  only?: string;
  /** Plan only: return each stage's status without running anything. */
  dryRun?: boolean;
  log?: (line: string) => void;
  trainProgress?: StageContext["trainProgress"];
  progress?: StageContext["progress"];
  /** Run on the ranks of this group (each calls runRefo alike): rank 0 holds the lock, writes the markers and runs
   *  the stages that do not share their work (data, evaluation, results); training and embedding run on all. */
  group?: ProcessGroup;
}

export interface PlannedStage {
  id: string;
  title: string;
  needs: string[];
  fingerprint: string;
  /** done: skipped; resume: continues from its checkpoint; run: starts; invalidated: its inputs changed (config,
   *  input files, or an upstream stage that reruns), restarts; outputs-changed: finished, but an output is missing
   *  or changed, restarts; forced: runs again because of --from-stage; excluded: not run because of --only. */
  status: StageStatus | "forced" | "excluded";
  /** For outputs-changed: which outputs, and how. */
  changed?: string[];
}

export interface RefoResult {
  runDir: string;
  plan: PlannedStage[];
  /** null for a dry run or a run of --only another stage than the results. */
  results: RunResults | null;
}

/** The stage `id` and every stage that reads its outputs, directly or not. */
function downstream(stages: readonly Stage[], id: string): Set<string> {
  const found = new Set([id]);
  for (const stage of stages) if (stage.needs.some((n) => found.has(n))) found.add(stage.id);
  return found;
}

function checkStageName(stages: readonly Stage[], option: string, id: string | undefined): void {
  if (id !== undefined && !stages.some((s) => s.id === id)) {
    throw new RangeError(
      `${option}: no stage '${id}' in this run; its stages are ${stages.map((s) => s.id).join(", ")}`,
    );
  }
}

/** The statuses that start a stage from scratch, clearing what an earlier run of it left. */
const RESTARTS: ReadonlySet<PlannedStage["status"]> = new Set(["invalidated", "outputs-changed", "forced"]);

/** Each stage's status, and (for --only) what it would be without --only. */
function planStatuses(
  stages: readonly Stage[],
  prints: ReadonlyMap<string, string>,
  folders: StageFolders,
  options: RefoOptions,
): { plan: PlannedStage[]; unrestricted: Map<string, PlannedStage> } {
  const checks = new Map(stages.map((s) => [s.id, folders.check(s.id, prints.get(s.id)!)]));
  // a stage rerun for its outputs keeps its fingerprint but may make other outputs: what reads them reruns too
  const changed = new Set<string>();
  for (const [id, { status }] of checks) {
    if (status === "outputs-changed") for (const d of downstream(stages, id)) changed.add(d);
  }
  const forced = options.fromStage ? downstream(stages, options.fromStage) : new Set<string>();
  forced.add(RESULTS); // cheap, and it reads every stage's latest state
  const unrestricted = new Map(
    stages.map((stage): [string, PlannedStage] => {
      const check = checks.get(stage.id)!;
      let status: PlannedStage["status"] = check.status;
      if (forced.has(stage.id) && status !== "run") status = "forced";
      else if (changed.has(stage.id) && status !== "run" && status !== "outputs-changed") status = "invalidated";
      const planned = {
        id: stage.id,
        title: stage.title,
        needs: stage.needs,
        fingerprint: prints.get(stage.id)!,
        status,
      };
      return [stage.id, check.changed.length > 0 ? { ...planned, changed: check.changed } : planned];
    }),
  );
  const plan = stages.map((stage) => {
    const planned = unrestricted.get(stage.id)!;
    return options.only !== undefined && options.only !== stage.id
      ? { ...planned, status: "excluded" as const }
      : planned;
  });
  return { plan, unrestricted };
}

/** `--only <id>` runs when every stage it needs is finished with intact outputs; checked before anything is cleared. */
function checkOnly(stages: readonly Stage[], unrestricted: ReadonlyMap<string, PlannedStage>, only: string): void {
  const stage = stages.find((s) => s.id === only)!;
  const missing = stage.needs.flatMap((need) => {
    const { status, changed } = unrestricted.get(need)!;
    if (status === "done") return [];
    if (status === "outputs-changed") return [`${need}: ${changed!.join(", ")}`];
    return [`${need} ${status === "invalidated" ? "has changed inputs" : "is not finished"}`];
  });
  if (missing.length > 0) {
    throw new Error(`--only ${only}: run the stages it needs first (${missing.join("; ")}); nothing was changed`);
  }
}

export async function runRefo(input: unknown, options: RefoOptions = {}): Promise<RefoResult> {
  const config = resolveRefoConfig(input);
  const runDir = resolve(options.runDir ?? config.runDir ?? join("runs", config.name));
  const paths = runPaths(config, runDir);
  const facts = await preflight(config, paths);
  const stages = planStages(config, facts.numClasses, facts.d1Size);
  checkStageName(stages, "--from-stage", options.fromStage);
  checkStageName(stages, "--only", options.only);
  const prints = fingerprints(stages, config, paths, inputFingerprints(config));
  const folders = new StageFolders(runDir, config.fingerprint);
  if (options.dryRun) {
    const { plan, unrestricted } = planStatuses(stages, prints, folders, options);
    if (options.only !== undefined) checkOnly(stages, unrestricted, options.only);
    return { runDir, plan, results: null };
  }

  const log = options.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const { group } = options;
  const lead = (group?.rank ?? 0) === 0;
  const lock = lead ? acquireRunLock(runDir, log) : null;
  try {
    // planned under the lock (another process may have changed the stages meanwhile), by rank 0 for all ranks
    let plan: PlannedStage[];
    if (lead) {
      const planned = planStatuses(stages, prints, folders, options);
      if (options.only !== undefined) checkOnly(stages, planned.unrestricted, options.only);
      plan = planned.plan;
      group?.store.set(PLAN_KEY, JSON.stringify(plan));
    } else plan = JSON.parse(group!.store.get(PLAN_KEY)) as PlannedStage[];
    // every stage (evaluation and embedding too, also after a resume) runs with the run's thread count
    const threads = config.threads ?? torch.getNumThreads();
    const ctx: StageContext = {
      config,
      paths,
      folders,
      numClasses: facts.numClasses,
      log,
      ...(options.trainProgress && { trainProgress: options.trainProgress }),
      progress: options.progress ?? (() => ({ update: () => undefined, stop: () => undefined })),
      ...(group && { group }),
    };
    await torch.withNumThreads(threads, () => runStages(ctx, stages, plan));
    const results = plan.find((p) => p.id === RESULTS)!.status === "excluded" ? null : readResults(runDir);
    return { runDir, plan, results };
  } finally {
    lock?.release();
  }
}

const PLAN_KEY = "facekd/refo/plan";
/** The stage kinds whose work is shared among the ranks of a data-parallel run. */
const SHARED_KINDS: ReadonlySet<string> = new Set(["train", "embed", "evaluate"]);

async function runStages(ctx: StageContext, stages: readonly Stage[], plan: readonly PlannedStage[]): Promise<void> {
  const { paths, folders, log, group } = ctx;
  const lead = (group?.rank ?? 0) === 0;
  if (lead) writeJson(join(paths.runDir, "refo-config.json"), ctx.config);
  for (const [i, stage] of stages.entries()) {
    const { status, fingerprint, changed } = plan[i]!;
    if (status === "excluded" || status === "done") continue;
    const extraDirs = stage.spec.kind === "data" ? [paths.dataDir] : [];
    const started = performance.now();
    let marker = null;
    if (lead) {
      if (RESTARTS.has(status)) folders.clear(stage.id, extraDirs);
      const why = status === "resume" ? " (resuming)" : changed ? ` (rerun: ${changed.join(", ")})` : "";
      log(`[${i + 1}/${stages.length}] ${stage.id}: ${stage.title}${why}`);
      marker = folders.start(stage.id, fingerprint);
    }
    group?.barrier(); // the other ranks start once the stage folder is ready (and its inputs written)
    if (lead || SHARED_KINDS.has(stage.spec.kind)) {
      await runStage({ ctx, stage, stages, markDone: () => marker && folders.finish(marker, 0) });
    }
    group?.barrier();
    if (marker) {
      const seconds = (performance.now() - started) / 1000;
      folders.finish(marker, seconds, extraDirs);
      log(`    ${stage.id} done in ${seconds.toFixed(1)} s`);
    }
  }
}
