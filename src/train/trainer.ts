// The training loop over a run folder: config.json, metrics.jsonl, checkpoints/ (checkpoint.ts) and, at the end,
// model.safetensors (the backbone alone, for loadBackbone) and head.safetensors (the losses' learned parts, such as
// margin heads' class centres, which later runs load as frozen classifiers: classifiers.ts). One step: forward with
// feature taps (and the classifiers' logits when a loss reads them), the combined loss, backward, optional gradient
// clipping, optimizer and scheduler step. Randomness: libtorch's generator state cannot be saved, so every step
// starts with torch.manualSeed(deriveSeed(seed, step)) and the loader's shuffles and flips come from (seed, epoch):
// a run resumed from a checkpoint repeats the uninterrupted run's steps exactly.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import { FaceLoader, openDataset, type FaceSource, type LoaderPosition } from "../data/index.js";
import { deriveSeed } from "../data/rng.js";
import {
  combineLosses,
  freeze,
  frozenOutputs,
  type EmbeddingLookup,
  type ModelOutputs,
  type Role,
} from "../distill/index.js";
import { createModel, loadBackbone, resolveSpec, saveBackbone, type Backbone } from "../models/index.js";
import {
  loadCheckpoint,
  readSidecar,
  saveCheckpoint,
  type CheckpointSidecar,
  type SidecarName,
  type TrainState,
} from "./checkpoint.js";
import {
  classify,
  loadClassifier,
  needsLogits,
  trainedClassifier,
  type Classifier,
  type FrozenClassifierConfig,
} from "./classifiers.js";
import { resolveConfig, type ModelConfig, type ResolvedTrainConfig, type TrainConfig } from "./config.js";
import { writeJsonAtomically } from "./json-file.js";
import { MetricsLog } from "./metrics.js";
import { NpyRows } from "./npy-stream.js";
import { buildOptimizer, buildScheduler } from "./optimizer.js";
import { createProgress, type Progress } from "./progress.js";
import { trainStep, type StepInputs, type StepOutcome } from "./step.js";

/** A periodic evaluation (such as verification on a pair set); its `metric` picks the best checkpoint. */
export interface EvaluationHook {
  /** Run every this many steps, and at the end. */
  every: number;
  /** The key of run()'s result that ranks checkpoints. */
  metric: string;
  /** Higher is better (default) or lower. */
  mode?: "max" | "min";
  /** Called with the model in eval mode (switched back to training afterwards). */
  run(model: Backbone, step: number): Promise<Record<string, number>> | Record<string, number>;
}

export interface TrainOptions {
  /** Continue from the run folder's last checkpoint when it has one (default true); false refuses such a folder. */
  resume?: boolean;
  /** The dataset, instead of opening config.data.path. */
  source?: FaceSource;
  evaluate?: EvaluationHook;
  /** Stop after this step with a checkpoint, as an interrupted run (the run resumes from there). */
  stopAt?: number;
  /** Warnings and, off a terminal, progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Where the progress bar goes when it is a terminal (default process.stderr). */
  progressStream?: NodeJS.WriteStream;
}

export interface TrainResult {
  /** Steps completed. */
  step: number;
  totalSteps: number;
  /** False when stopped early by `stopAt`. */
  finished: boolean;
  /** model.safetensors, once finished. */
  modelFile: string | null;
  /** head.safetensors (the loss module's state dict), once finished, when the losses have learned parts. */
  headFile: string | null;
  best: CheckpointSidecar["best"] | null;
}

/** Thrown after `maxBadSteps` consecutive non-finite steps; the run folder keeps the last good checkpoint. */
export class TrainingDivergedError extends Error {
  override name = "TrainingDivergedError";
}

const buildModel = ({ name, options, init }: ModelConfig): Backbone =>
  init === undefined ? createModel(name, options) : loadBackbone(name, init, options);

/** Trains as `config` says in its run folder; resumes a run found there. */
export async function train(input: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const config = resolveConfig(input);
  const log = options.log ?? ((line: string) => void process.stderr.write(line + "\n"));
  const checkpoints = join(config.runDir, "checkpoints");
  const last = readSidecar(checkpoints, "last");
  if (last !== null && options.resume === false) {
    throw new Error(
      `${config.runDir} already holds a run (step ${last.step}): resume it, or delete the folder to start afresh`,
    );
  }
  mkdirSync(config.runDir, { recursive: true });
  writeJsonAtomically(join(config.runDir, "config.json"), config);
  if (config.threads !== undefined) torch.setNumThreads(config.threads);

  const source = options.source ?? openDataset(config.data.path);
  const opened: { close(): void }[] = options.source ? [] : [source];
  try {
    const precomputed = openPrecomputed(config, source, opened);
    return await run(config, options, source, precomputed, last, log);
  } finally {
    for (const o of opened) o.close();
  }
}

function openPrecomputed(
  config: ResolvedTrainConfig,
  source: FaceSource,
  opened: { close(): void }[],
): Partial<Record<Role, EmbeddingLookup>> | undefined {
  if (config.precomputed === undefined) return undefined;
  const stores: Partial<Record<Role, EmbeddingLookup>> = {};
  for (const [role, file] of Object.entries(config.precomputed) as [Role, string][]) {
    const rows = new NpyRows(file);
    opened.push(rows);
    if (rows.count !== source.length) {
      throw new Error(
        `precomputed.${role}: ${file} holds ${rows.count} rows but ${source.name} has ${source.length} samples ` +
          "(extract the embeddings from this dataset)",
      );
    }
    const size = resolveSpec(config.model.name, config.model.options).embeddingSize;
    if (role === "teacher" && rows.dim !== size) {
      throw new Error(
        `precomputed.teacher: ${file} holds ${rows.dim}-d embeddings but the ${config.role} makes ${size}-d ones: ` +
          `set model.options.embeddingSize to ${rows.dim} (feature-only distillation compares them directly)`,
      );
    }
    stores[role] = rows;
  }
  return stores;
}

/** The frozen classifiers of `config.classifiers`, each checked against the embedding it is applied to. */
function loadClassifiers(
  config: ResolvedTrainConfig,
  model: Backbone,
  teacher: Backbone | undefined,
): Partial<Record<Role, Classifier>> {
  const loaded: Partial<Record<Role, Classifier>> = {};
  try {
    for (const [owner, entry] of Object.entries(config.classifiers ?? {}) as [Role, FrozenClassifierConfig][]) {
      if (owner === config.role) {
        throw new Error(
          `classifiers.${owner}: the ${owner} is the model trained by this run; its classifier is its margin ` +
            "term's (arcface, cosface, ...), not a file: remove the entry",
        );
      }
      // the teacher's classifier is applied to the live teacher's embedding; the others to the trained model's
      loaded[owner] = loadClassifier(owner, entry, (owner === "teacher" && teacher ? teacher : model).embeddingSize);
    }
  } catch (error) {
    for (const classifier of Object.values(loaded)) classifier.weight.dispose();
    throw error;
  }
  return loaded;
}

async function run(
  config: ResolvedTrainConfig,
  options: TrainOptions,
  source: FaceSource,
  precomputed: Partial<Record<Role, EmbeddingLookup>> | undefined,
  last: CheckpointSidecar | null,
  log: (line: string) => void,
): Promise<TrainResult> {
  const checkpoints = join(config.runDir, "checkpoints");
  const { seed, batchSize, role } = config;
  torch.manualSeed(seed);
  const model = buildModel(config.model).to({ memoryFormat: config.memoryFormat });
  const loss = combineLosses(config.losses);
  const teacher = config.teacher && freeze(buildModel(config.teacher).to({ memoryFormat: config.memoryFormat }));
  const frozen = loadClassifiers(config, model, teacher);
  const params = [...model.parameters(), ...loss.module.parameters()];
  const optimizer = buildOptimizer(params, config.optimizer);
  const layout = config.memoryFormat === "channels_last" ? "channels_last" : "nchw";
  const shuffle = config.data.shuffle ?? true;
  let position: LoaderPosition = last?.loader ?? { epoch: 0, index: 0 };
  const loader = new FaceLoader(source, {
    batchSize,
    imageSize: [model.spec.inputSize, model.spec.inputSize],
    seed,
    shuffle,
    flip: config.data.flip ?? true,
    workers: config.data.workers ?? 2,
    strictDecode: config.data.strictDecode ?? false,
    skipCorrupt: config.data.skipCorrupt ?? false,
    onSkip: (error) => log(`skipping a corrupt record: ${error.message}`),
    layout,
    position,
  });
  const totalSteps = config.steps ?? config.epochs! * loader.batchesPerEpoch;
  const scheduler = buildScheduler(optimizer, config.schedule, totalSteps);
  const state: TrainState = { model, lossModule: loss.module, optimizer, scheduler };
  const metrics = new MetricsLog(join(config.runDir, "metrics.jsonl"));
  let step = 0;
  let bad = 0;
  let best: NonNullable<CheckpointSidecar["best"]> | null = null;
  if (last !== null) {
    loadCheckpoint(checkpoints, last, state);
    ({ step, consecutiveBadSteps: bad } = last);
    best = last.best ?? null;
    log(`resuming ${config.runDir} at step ${step}/${totalSteps}`);
  }
  metrics.truncateAfter(step);

  const save = (names: SidecarName[]): CheckpointSidecar =>
    saveCheckpoint(
      checkpoints,
      state,
      {
        step,
        modelSpec: model.spec,
        loader: position,
        rng: { seed, rule: "torch.manualSeed(deriveSeed(seed, step)) at the start of each step" },
        consecutiveBadSteps: bad,
        ...(best ? { best } : {}),
      },
      names,
    );
  const evaluate = async (): Promise<void> => {
    const hook = options.evaluate!;
    model.eval();
    const results = await hook.run(model, step);
    model.train();
    metrics.append({ step, eval: results });
    const value = results[hook.metric];
    if (value === undefined)
      throw new Error(`evaluate.metric '${hook.metric}' is not among the results (${Object.keys(results).join(", ")})`);
    const better = best === null || (hook.mode === "min" ? value < best.value : value > best.value);
    if (better) best = { metric: hook.metric, value, step };
    save(better ? ["last", "best"] : ["last"]);
  };

  const logits = needsLogits(loss);
  const own = trainedClassifier(loss, config.losses, role);
  const teacherHead = frozen.teacher;
  const teacherOutputs = (images: torch.Tensor): ModelOutputs => {
    const outputs = frozenOutputs(teacher!, images);
    return teacherHead
      ? { ...outputs, ...torch.noGrad(() => classify(outputs.embedding!, teacherHead, logits)) }
      : outputs;
  };
  // frozen classifiers of a model that is not run here: the same tensor every step
  const fixed: Partial<Record<Role, ModelOutputs>> = {};
  for (const [owner, classifier] of Object.entries(frozen) as [Role, Classifier][]) {
    if (!(owner === "teacher" && teacher)) fixed[owner] = { classifier: classifier.weight };
  }
  const stepInputs: StepInputs = {
    model,
    role,
    loss,
    optimizer,
    params,
    clipGradNorm: config.clipGradNorm,
    ...(own ? { classify: (embedding: torch.Tensor) => classify(embedding, own, logits) } : {}),
    ...(teacher ? { teacher: teacherOutputs } : {}),
  };
  const progress: Progress = createProgress(options.progressStream ?? process.stderr, log, step, totalSteps);
  let images = 0;
  let clock = performance.now();
  model.train();
  loss.module.train();
  try {
    while (step < totalSteps && step !== options.stopAt) {
      for await (const batch of loader.epoch()) {
        const before = position;
        position = batch.position;
        const count = batch.labels.size(0);
        torch.manualSeed(deriveSeed(seed, step));
        let outcome: StepOutcome;
        try {
          outcome = trainStep(stepInputs, batch.images, {
            ...fixed,
            labels: batch.labels,
            indices: batch.indices,
            ...(precomputed ? { precomputed } : {}),
          });
        } finally {
          batch[Symbol.dispose]();
        }
        const lr = scheduler.lastLr()[0]!;
        step += 1;
        scheduler.step();
        images += count;

        if (outcome.problem !== null) {
          bad += 1;
          progress.message(`warning: step ${step} skipped: ${outcome.problem} (${bad} in a row)`);
          metrics.append({ step, skipped: outcome.problem, terms: outcome.terms });
          if (bad >= config.maxBadSteps) {
            const good = readSidecar(checkpoints, "last");
            throw new TrainingDivergedError(
              `training stopped at step ${step}: ${bad} consecutive steps had a non-finite loss or gradient ` +
                `(maxBadSteps ${config.maxBadSteps}). ` +
                (good
                  ? `The last good checkpoint (step ${good.step}) is kept in ${checkpoints}. `
                  : "No checkpoint was written yet. ") +
                "Lower optimizer.lr, set clipGradNorm, or check the data and the losses' inputs.",
            );
          }
        } else {
          bad = 0;
          if (step % config.logEvery === 0 || step === totalSteps) {
            const now = performance.now();
            const info = {
              step,
              total: totalSteps,
              loss: outcome.value,
              terms: outcome.terms,
              lr,
              imagesPerSecond: (images * 1000) / (now - clock),
            };
            metrics.append({
              step,
              epoch: before.epoch,
              loss: info.loss,
              terms: info.terms,
              lr,
              imagesPerSecond: info.imagesPerSecond,
            });
            progress.update(info);
            images = 0;
            clock = now;
          }
        }
        // no checkpoint during a run of bad steps: the last one written stays the last good one
        if (bad === 0 && options.evaluate && step % options.evaluate.every === 0) await evaluate();
        else if (bad === 0 && (step % config.checkpointEvery === 0 || step === options.stopAt)) save(["last"]);
        if (step >= totalSteps || step === options.stopAt) break;
      }
    }
    const finished = step >= totalSteps;
    let modelFile: string | null = null;
    let headFile: string | null = null;
    if (finished) {
      if (options.evaluate && step % options.evaluate.every !== 0) await evaluate();
      else save(["last"]);
      modelFile = join(config.runDir, "model.safetensors");
      saveBackbone(modelFile, model);
      const head = loss.module.stateDict();
      if (head.size > 0) {
        headFile = join(config.runDir, "head.safetensors");
        torch.serialize.saveSafetensors(headFile, head);
      }
    }
    return { step, totalSteps, finished, modelFile, headFile, best };
  } finally {
    progress.stop();
    await loader.close();
    for (const module of [model, loss.module, teacher]) module?.dispose();
    for (const classifier of Object.values(frozen)) classifier.weight.dispose();
    optimizer.dispose();
  }
}
