// Stages shared by the points of a sweep. A stage's fingerprint covers everything that determines its outputs
// (stage-state.ts), so a stage finished at one point with the fingerprint that another point needs is that point's
// stage as well: it is adopted by hard-linking its folder and the files it wrote elsewhere in the run folder (the
// generated data), and the point's run then finds it done. S' and the standard teacher train once per seed.
import { linkSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import type { FingerprintMode } from "../io/index.js";
import { linkTree } from "../io/index.js";
import type { PlannedStage } from "./run.js";
import { StageFolders } from "./stage-state.js";

/** The statuses of stages that would run (or resume): a finished twin elsewhere saves that work. --from-stage's
 *  "forced" stages are asked to run again and are never adopted. */
const WOULD_RUN: ReadonlySet<PlannedStage["status"]> = new Set(["run", "invalidated", "resume"]);

/** The finished twin of `stage` in one of the `donors` run folders, or null. */
function findTwin(stage: PlannedStage, donors: readonly StageFolders[]): StageFolders | null {
  return donors.find((donor) => donor.check(stage.id, stage.fingerprint).status === "done") ?? null;
}

/** `id:fingerprint`, what makes two stages twins. */
export const twinKey = (stage: PlannedStage): string => `${stage.id}:${stage.fingerprint}`;

/** Which of `plan`'s stages would not run: a finished twin in `donorDirs` replaces it, or a twin in `planned` (the
 *  keys of stages that points before this one will run) will have. Nothing is changed. */
export function shareableStages(
  plan: readonly PlannedStage[],
  donorDirs: readonly string[],
  mode: FingerprintMode,
  planned: ReadonlySet<string>,
): string[] {
  const donors = donorDirs.map((dir) => new StageFolders(dir, mode));
  return plan
    .filter((s) => WOULD_RUN.has(s.status) && (planned.has(twinKey(s)) || findTwin(s, donors) !== null))
    .map((s) => s.id);
}

/** Links each stage of `plan` that would run and has a finished twin in `donorDirs` into `runDir`; returns their
 *  ids. Stages are visited in plan order, so a stage's upstream stages are adopted before it. */
export function adoptSharedStages(
  runDir: string,
  plan: readonly PlannedStage[],
  donorDirs: readonly string[],
  mode: FingerprintMode,
): string[] {
  const folders = new StageFolders(runDir, mode);
  const donors = donorDirs.map((dir) => new StageFolders(dir, mode));
  const adopted: string[] = [];
  for (const stage of plan) {
    if (!WOULD_RUN.has(stage.status)) continue;
    const twin = findTwin(stage, donors);
    if (twin === null) continue;
    folders.clear(stage.id);
    linkTree(twin.dir(stage.id), folders.dir(stage.id));
    const own = `${join("stages", stage.id)}${sep}`;
    for (const { path } of twin.marker(stage.id)!.outputs ?? []) {
      if (path.startsWith(own)) continue;
      const target = join(runDir, path);
      rmSync(target, { force: true });
      mkdirSync(dirname(target), { recursive: true });
      linkSync(join(twin.runDir, path), target);
    }
    adopted.push(stage.id);
  }
  return adopted;
}
