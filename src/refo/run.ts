// `facekd refo` as a library call: plan the stages of a config, skip the finished ones, resume the interrupted one,
// run the rest in order, and write results.json and report.html.
import { join, resolve } from "node:path";
import { openDataset } from "../data/index.js";
import { readResults, type RunResults } from "../report/index.js";

import { resolveRefoConfig, type RefoConfig } from "./config.js";
import { runPaths, type StageContext } from "./context.js";
import { planStages, RESULTS, type Stage } from "./plan.js";
import { fingerprints, StageFolders, type StageStatus } from "./stage-state.js";
import { runStage } from "./stages/index.js";
import { writeJson } from "../io/index.js";

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
}

export interface PlannedStage {
  id: string;
  title: string;
  needs: string[];
  fingerprint: string;
  /** done: skipped; resume: continues from its checkpoint; run: starts; invalidated: its inputs changed, restarts;
   *  forced: runs again because of --from-stage; excluded: not run because of --only. */
  status: StageStatus | "forced" | "excluded";
}

export interface RefoResult {
  runDir: string;
  plan: PlannedStage[];
  /** null for a dry run or a run of --only another stage than the results. */
  results: RunResults | null;
}

function numClassesOf(config: RefoConfig, d1: string): number {
  if (config.data.labeled === undefined) return config.data.synthetic.identities;
  const source = openDataset(d1);
  try {
    if (source.numClasses === null || source.numClasses < 2) {
      throw new RangeError(
        `data.labeled: ${d1} does not say how many identities it holds (a .rec needs its property file, a folder ` +
          "one subfolder per identity): ReFO's classification stages need labeled data",
      );
    }
    return source.numClasses;
  } finally {
    source.close();
  }
}

/** The number of samples in D1, which only the crd baseline reads (its memory banks have one row per sample). */
function d1SizeOf(config: RefoConfig, d1: string): number | undefined {
  if (!config.baselines.includes("crd")) return undefined;
  const { labeled, synthetic } = config.data;
  if (labeled === undefined) return synthetic.identities * synthetic.imagesPerIdentity;
  const source = openDataset(d1);
  try {
    return source.length;
  } finally {
    source.close();
  }
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

export async function runRefo(input: unknown, options: RefoOptions = {}): Promise<RefoResult> {
  const config = resolveRefoConfig(input);
  const runDir = resolve(options.runDir ?? config.runDir ?? join("runs", config.name));
  const paths = runPaths(config, runDir);
  const numClasses = numClassesOf(config, paths.d1);
  const stages = planStages(config, numClasses, d1SizeOf(config, paths.d1));
  checkStageName(stages, "--from-stage", options.fromStage);
  checkStageName(stages, "--only", options.only);
  const prints = fingerprints(stages, config);
  const folders = new StageFolders(runDir);
  const forced = options.fromStage ? downstream(stages, options.fromStage) : new Set<string>();
  forced.add(RESULTS); // cheap, and it reads every stage's latest state

  const plan: PlannedStage[] = stages.map((stage) => {
    const fingerprint = prints.get(stage.id)!;
    const status = folders.status(stage.id, fingerprint);
    return {
      id: stage.id,
      title: stage.title,
      needs: stage.needs,
      fingerprint,
      status:
        options.only !== undefined && options.only !== stage.id
          ? "excluded"
          : forced.has(stage.id) && status !== "run"
            ? "forced"
            : status,
    };
  });
  if (options.dryRun) return { runDir, plan, results: null };

  const log = options.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const ctx: StageContext = {
    config,
    paths,
    folders,
    numClasses,
    log,
    ...(options.trainProgress && { trainProgress: options.trainProgress }),
    progress: options.progress ?? (() => ({ update: () => undefined, stop: () => undefined })),
  };
  writeJson(join(runDir, "refo-config.json"), config);
  if (options.only !== undefined) {
    const stage = stages.find((s) => s.id === options.only)!;
    const missing = stage.needs.filter((n) => folders.status(n, prints.get(n)!) !== "done");
    if (missing.length > 0) {
      throw new Error(`--only ${stage.id}: run the stages it needs first (${missing.join(", ")} not finished)`);
    }
  }

  for (const [i, stage] of stages.entries()) {
    const { status } = plan[i]!;
    if (status === "excluded" || status === "done") continue;
    const extraDirs = stage.spec.kind === "data" ? [paths.dataDir] : [];
    if (status === "forced") folders.clear(stage.id, extraDirs);
    log(`[${i + 1}/${stages.length}] ${stage.id}: ${stage.title}${status === "resume" ? " (resuming)" : ""}`);
    const marker = folders.start(stage.id, plan[i]!.fingerprint, extraDirs);
    const started = performance.now();
    await runStage({ ctx, stage, stages, markDone: () => folders.finish(marker, 0) });
    const seconds = (performance.now() - started) / 1000;
    folders.finish(marker, seconds);
    log(`    ${stage.id} done in ${seconds.toFixed(1)} s`);
  }
  const results = plan.find((p) => p.id === RESULTS)!.status === "excluded" ? null : readResults(runDir);
  return { runDir, plan, results };
}
