// Training checkpoints in a run folder's checkpoints/: the tensors of step s in `step-<s>.safetensors` (keys
// `model.*`, `loss.*` and `optimizer.state.*`), and a JSON sidecar, `last.json` or `best.json`, naming that file
// with everything else needed to resume. Each file is written atomically and the sidecar last, so a crash leaves
// the previous checkpoint whole; tensor files no sidecar names any more are deleted afterwards.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import { loadSafetensors, saveSafetensors } from "../io/index.js";
import type { LoaderPosition } from "../data/index.js";
import { writeJson } from "../io/json-file.js";
import type { ShardedHeads, WholeHeads } from "./sharded-heads.js";

export const CHECKPOINT_FORMAT = "facekd.train-checkpoint/1";

export interface CheckpointSidecar {
  format: typeof CHECKPOINT_FORMAT;
  /** Training steps completed. */
  step: number;
  /** The tensor file beside this sidecar. */
  tensors: string;
  modelSpec: unknown;
  optimizer: torch.optim.OptimizerMeta;
  scheduler: torch.optim.SchedulerState;
  /** The loader position of the next batch. */
  loader: LoaderPosition;
  /**
   * libtorch's generator state cannot be saved, so the trainer reseeds it at the start of every step from (seed,
   * step): resuming needs only these two numbers.
   */
  rng: { seed: number; rule: string };
  consecutiveBadSteps: number;
  /** The best evaluation so far, when an evaluation hook runs. */
  best?: { metric: string; value: number; step: number };
  /** float16's loss scaler (scale and good steps since its last change), so that a resumed run scales alike. */
  gradScaler?: torch.GradScalerState;
}

export interface TrainState {
  model: torch.nn.Module<never[], unknown>;
  lossModule: torch.nn.Module<never[], unknown>;
  optimizer: torch.optim.Optimizer<torch.optim.BaseHyper>;
  scheduler: torch.optim.LRScheduler;
  scaler?: torch.GradScaler;
  /** Margin heads whose centres are split across the ranks: checkpoints hold them whole. */
  sharded?: ShardedHeads;
}

export type SidecarName = "last" | "best";

const tensorFile = (step: number): string => `step-${String(step).padStart(8, "0")}.safetensors`;

/** Writes the tensors of `state` (unless this step's file exists) and then the named sidecars. */
export function saveCheckpoint(
  dir: string,
  state: TrainState,
  info: Omit<CheckpointSidecar, "format" | "tensors" | "optimizer" | "scheduler" | "gradScaler">,
  names: readonly SidecarName[],
  /** The sharded heads' tensors whole (ShardedHeads.gather), in place of this rank's slices. */
  whole: WholeHeads | null = null,
): CheckpointSidecar {
  mkdirSync(dir, { recursive: true });
  const file = tensorFile(info.step);
  const optimizer = state.optimizer.stateDict();
  if (!existsSync(join(dir, file))) {
    const tensors = new Map<string, torch.Tensor>();
    for (const [k, t] of state.model.stateDict()) tensors.set(`model.${k}`, t);
    for (const [k, t] of state.lossModule.stateDict()) tensors.set(`loss.${k}`, whole?.weights.get(k) ?? t);
    for (const [k, t] of optimizer.tensors) tensors.set(`optimizer.${k}`, whole?.optimizer.get(k) ?? t);
    saveSafetensors(join(dir, file), tensors, { format: CHECKPOINT_FORMAT, step: String(info.step) });
  }
  const sidecar: CheckpointSidecar = {
    format: CHECKPOINT_FORMAT,
    ...info,
    tensors: file,
    optimizer: optimizer.meta,
    scheduler: state.scheduler.stateDict(),
    ...(state.scaler && { gradScaler: state.scaler.stateDict() }),
  };
  for (const name of names) writeJson(join(dir, `${name}.json`), sidecar);
  removeUnreferenced(dir);
  return sidecar;
}

/** The sidecar `name` in `dir`, or null when there is none. */
export function readSidecar(dir: string, name: SidecarName): CheckpointSidecar | null {
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) return null;
  const sidecar = JSON.parse(readFileSync(file, "utf8")) as CheckpointSidecar;
  if (sidecar.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${file}: not a facekd training checkpoint (format '${String(sidecar.format)}')`);
  }
  return sidecar;
}

/** Loads a checkpoint's tensors into the model, loss module and optimizer, and its step into the scheduler. */
export function loadCheckpoint(dir: string, sidecar: CheckpointSidecar, state: TrainState): void {
  const file = join(dir, sidecar.tensors);
  if (!existsSync(file)) {
    throw new Error(`${file}: the checkpoint's tensors are missing; delete ${dir} to start the run afresh`);
  }
  torch.tidy(() => {
    const { tensors } = loadSafetensors(file);
    const part = (prefix: string): Map<string, torch.Tensor> =>
      new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
    try {
      const [loss, optimizer] = [part("loss."), part("optimizer.")];
      state.sharded?.shard(loss, optimizer);
      state.model.loadStateDict(part("model."));
      state.lossModule.loadStateDict(loss);
      state.optimizer.loadStateDict({ tensors: optimizer, meta: sidecar.optimizer });
    } catch (error) {
      throw new Error(
        `${file}: does not fit this run's model, losses or optimizer (was the config changed?): ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
  state.scheduler.loadStateDict(sidecar.scheduler);
  if (state.scaler && sidecar.gradScaler) state.scaler.loadStateDict(sidecar.gradScaler);
}

function removeUnreferenced(dir: string): void {
  const kept = new Set((["last", "best"] as const).map((n) => readSidecar(dir, n)?.tensors));
  for (const name of readdirSync(dir)) {
    if (/^step-\d+\.safetensors$/.test(name) && !kept.has(name)) rmSync(join(dir, name), { force: true });
  }
}
