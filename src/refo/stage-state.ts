// Which stages are finished: each stage folder holds stage.json with the fingerprint of everything that determines
// its outputs (its spec, the run-wide settings it reads, and its upstream stages' fingerprints). A finished stage
// with the same fingerprint is skipped; a different fingerprint (a changed config upstream) clears the folder; an
// unfinished one with the same fingerprint resumes (training stages continue from their last checkpoint).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeJson } from "../io/json-file.js";
import type { RefoConfig } from "./config.js";
import type { Stage } from "./plan.js";

export interface StageMarker {
  id: string;
  fingerprint: string;
  status: "running" | "done";
  startedAt: string;
  finishedAt?: string;
  seconds?: number;
}

export type StageStatus = "done" | "resume" | "run" | "invalidated";

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The fingerprint of every stage, by id (stages in plan order). */
export function fingerprints(stages: readonly Stage[], config: RefoConfig): Map<string, string> {
  const result = new Map<string, string>();
  const shared = { seed: config.seed, embeddingSize: config.embeddingSize, data: config.data };
  for (const stage of stages) {
    const inputs = {
      spec: stage.spec,
      ...shared,
      ...(stage.spec.kind === "evaluate" ? { evaluation: config.evaluation } : {}),
      upstream: stage.needs.map((id) => result.get(id) ?? `missing:${id}`),
    };
    result.set(stage.id, createHash("sha256").update(stableJson(inputs)).digest("hex").slice(0, 16));
  }
  return result;
}

export class StageFolders {
  constructor(readonly runDir: string) {}

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

  status(id: string, fingerprint: string): StageStatus {
    const marker = this.marker(id);
    if (marker === null) return existsSync(this.dir(id)) ? "invalidated" : "run";
    if (marker.fingerprint !== fingerprint) return "invalidated";
    return marker.status === "done" ? "done" : "resume";
  }

  /** Marks the stage started, clearing what an earlier, different version of it left. */
  start(id: string, fingerprint: string, extraDirs: readonly string[] = []): StageMarker {
    const status = this.status(id, fingerprint);
    if (status === "invalidated")
      for (const dir of [this.dir(id), ...extraDirs]) rmSync(dir, { recursive: true, force: true });
    const previous = this.marker(id);
    mkdirSync(this.dir(id), { recursive: true });
    const marker: StageMarker = {
      id,
      fingerprint,
      status: "running",
      startedAt: status === "resume" && previous ? previous.startedAt : new Date().toISOString(),
    };
    writeJson(join(this.dir(id), "stage.json"), marker);
    return marker;
  }

  finish(marker: StageMarker, seconds: number): void {
    writeJson(join(this.dir(marker.id), "stage.json"), {
      ...marker,
      status: "done",
      finishedAt: new Date().toISOString(),
      seconds: (marker.seconds ?? 0) + seconds,
    });
  }

  /** Forgets a stage's outputs so that it runs again. */
  clear(id: string, extraDirs: readonly string[] = []): void {
    for (const dir of [this.dir(id), ...extraDirs]) rmSync(dir, { recursive: true, force: true });
  }
}
