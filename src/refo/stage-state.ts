// Which stages are finished: each stage folder holds stage.json with the fingerprint of everything that determines
// its outputs (its spec, the run-wide settings it reads, the content fingerprints of the files it reads from outside
// the run, and its upstream stages' fingerprints) and, once finished, the size and checksum of every output. A
// finished stage with the same fingerprint and intact outputs is skipped; a different fingerprint (a changed config
// or input upstream) or a missing or changed output reruns it from scratch; an unfinished one with the same
// fingerprint resumes (training stages continue from their last checkpoint).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, sep } from "node:path";
import { writeJson } from "../io/json-file.js";
import type { RefoConfig } from "./config.js";
import type { RunPaths } from "./context.js";
import { changedFiles, digestFiles, listFiles, type FileDigest, type FingerprintMode } from "../io/index.js";
import { stageInputPaths } from "./inputs.js";
import type { Stage } from "./plan.js";

export interface StageMarker {
  id: string;
  fingerprint: string;
  status: "running" | "done";
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
  /** The stage's files (its folder but checkpoints/, and the folders it generates), relative to the run folder. */
  outputs?: FileDigest[];
}

/** done: finished and intact; resume: started; run: never started; invalidated: its inputs changed;
 *  outputs-changed: finished, but an output is missing or differs from its checksum. */
export type StageStatus = "done" | "resume" | "run" | "invalidated" | "outputs-changed";

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The fingerprint of every stage, by id (stages in plan order). `inputs` holds the content fingerprints of the
 * files the config names (inputs.ts), by path; the synthetic data's are its data stage's outputs.
 */
export function fingerprints(
  stages: readonly Stage[],
  config: RefoConfig,
  paths: RunPaths,
  inputs: ReadonlyMap<string, string>,
): Map<string, string> {
  const result = new Map<string, string>();
  const shared = { seed: config.seed, embeddingSize: config.embeddingSize };
  for (const stage of stages) {
    const fingerprint = {
      spec: stage.spec,
      ...shared,
      ...(stage.spec.kind === "data"
        ? config.data.align
          ? // the crops do not depend on the number of detection threads
            { alignment: { minFace: config.data.alignment.minFace, maxFaces: config.data.alignment.maxFaces } }
          : { synthetic: config.data.synthetic }
        : {}),
      // float32 adds nothing, so that the runs from before the key keep their fingerprints
      ...(stage.spec.kind === "train" && config.precision !== "float32" ? { precision: config.precision } : {}),
      ...(stage.spec.kind === "train" && config.syncBatchNorm ? { syncBatchNorm: true } : {}),
      ...(stage.spec.kind === "evaluate"
        ? { evaluation: config.evaluation, sets: paths.verification.map((v) => v.name) }
        : {}),
      inputs: stageInputPaths(stage, paths, config).flatMap((path) => inputs.get(path) ?? []),
      upstream: stage.needs.map((id) => result.get(id) ?? `missing:${id}`),
    };
    result.set(stage.id, createHash("sha256").update(stableJson(fingerprint)).digest("hex").slice(0, 16));
  }
  return result;
}

export class StageFolders {
  constructor(
    readonly runDir: string,
    readonly mode: FingerprintMode = "sampled",
  ) {}

  dir(id: string): string {
    return join(this.runDir, "stages", id);
  }

  marker(id: string): StageMarker | null {
    const file = join(this.dir(id), "stage.json");
    if (!existsSync(file)) return null;
    try {
      return JSON.parse(readFileSync(file, "utf8")) as StageMarker;
    } catch {
      return null; // a marker cut short by a kill: the stage is not finished
    }
  }

  /** The stage's status, and for outputs-changed what changed. */
  check(id: string, fingerprint: string): { status: StageStatus; changed: string[] } {
    const marker = this.marker(id);
    if (marker === null) return { status: existsSync(this.dir(id)) ? "invalidated" : "run", changed: [] };
    if (marker.fingerprint !== fingerprint) return { status: "invalidated", changed: [] };
    if (marker.status !== "done") return { status: "resume", changed: [] };
    const changed =
      marker.outputs === undefined ? ["stage.json lists no outputs"] : changedFiles(this.runDir, marker.outputs);
    return { status: changed.length > 0 ? "outputs-changed" : "done", changed };
  }

  status(id: string, fingerprint: string): StageStatus {
    return this.check(id, fingerprint).status;
  }

  /** Marks the stage started; a resumed stage keeps its start time. Clear a stage that must restart first. */
  start(id: string, fingerprint: string): StageMarker {
    const previous = this.marker(id);
    mkdirSync(this.dir(id), { recursive: true });
    const marker: StageMarker = {
      id,
      fingerprint,
      status: "running",
      startedAt: previous?.fingerprint === fingerprint ? previous.startedAt : new Date().toISOString(),
    };
    writeJson(join(this.dir(id), "stage.json"), marker);
    return marker;
  }

  /** Marks the stage finished, with the checksums of its files and of those it wrote into `extraDirs`. */
  finish(marker: StageMarker, seconds: number, extraDirs: readonly string[] = []): void {
    const own = listFiles(
      this.dir(marker.id),
      (p) => p === "stage.json" || p === "checkpoints" || p.startsWith(`checkpoints${sep}`),
    );
    const files = [...own, ...extraDirs.flatMap((dir) => listFiles(dir))];
    writeJson(join(this.dir(marker.id), "stage.json"), {
      ...marker,
      status: "done",
      finishedAt: new Date().toISOString(),
      seconds: (marker.seconds ?? 0) + seconds,
      outputs: digestFiles(this.runDir, files, this.mode),
    });
  }

  /** Forgets a stage's outputs so that it runs again. */
  clear(id: string, extraDirs: readonly string[] = []): void {
    for (const dir of [this.dir(id), ...extraDirs]) rmSync(dir, { recursive: true, force: true });
  }
}
