// The trainer over a run folder: config.json, metrics.jsonl, checkpoints/ (checkpoint.ts) and, at the end,
// model.safetensors (the backbone alone, for loadBackbone) and head.safetensors (the losses' learned parts, such as
// margin heads' class centres, which later runs load as frozen classifiers: classifiers.ts). It builds the run's
// parts from the config and hands them to the loop (loop.ts) with its listeners: the NaN guard, metrics,
// evaluation, checkpoints and progress, then any the caller adds.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../torch/index.js";
import { saveSafetensors } from "../io/index.js";
import { FaceLoader, openDataset, type FaceSource } from "../data/index.js";
import {
  combineLosses,
  freeze,
  frozenOutputs,
  type EmbeddingLookup,
  type LossContext,
  type ModelOutputs,
  type Role,
} from "../distill/index.js";
import { createModel, loadBackbone, resolveSpec, saveBackbone, type Backbone } from "../models/index.js";
import { loadCheckpoint, readSidecar, type CheckpointSidecar, type TrainState } from "./checkpoint.js";
import {
  classify,
  loadClassifier,
  needsLogits,
  trainedClassifier,
  type Classifier,
  type FrozenClassifierConfig,
} from "./classifiers.js";
import { resolveConfig, type ModelConfig, type ResolvedTrainConfig, type TrainConfig } from "./config.js";
import { writeJson } from "../io/json-file.js";
import { MetricsLog } from "./metrics.js";
import { NpyRows } from "../io/npy-stream.js";
import { buildOptimizer, buildScheduler } from "./optimizer.js";
import type { TrainListener } from "./events.js";
import { checkpointListener } from "./listeners/checkpoints.js";
import { evaluationListener, type EvaluationHook } from "./listeners/evaluation.js";
import { metricsListener } from "./listeners/metrics.js";
import { intrinsicDimensionListener, sampleTracking, type IdTracking } from "./listeners/intrinsic-dimension.js";
import { nanGuard } from "./listeners/nan-guard.js";
import { lossScaleGuard } from "./listeners/loss-scale.js";
import { progressLines } from "./listeners/progress.js";
import { runLoop } from "./loop.js";
import { BUCKET_BYTES, dataParallel, GradientSync } from "./data-parallel.js";
import { ShardedHeads } from "./sharded-heads.js";
import type { ProcessGroup } from "../torch/distributed.js";
import type { StepInputs } from "./step.js";

export interface TrainOptions {
  /** Continue from the run folder's last checkpoint when it has one (default true); false refuses such a folder. */
  resume?: boolean;
  /** The dataset, instead of opening config.data.path. */
  source?: FaceSource;
  evaluate?: EvaluationHook;
  /** Stop after this step with a checkpoint, as an interrupted run (the run resumes from there). */
  stopAt?: number;
  /** Warnings (default: stderr). */
  log?: (line: string) => void;
  /** Shows progress (default: a line per log interval through `log`); a terminal front end passes its bar. */
  progress?: TrainListener;
  /** More listeners, called after the built-in ones (loss scaling, ID tracking, ...). */
  listeners?: readonly TrainListener[];
  /**
   * Train data-parallel with the ranks of this group (data-parallel.ts): config.batchSize is per rank (the global
   * batch is batchSize x worldSize) and the learning rate applies to the global batch as configured. Rank 0 alone
   * writes the run folder and runs the evaluation, metrics and progress listeners.
   */
  group?: ProcessGroup;
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

/** Below this loss scale, float16 training stops: its gradients overflow even scaled down 2^20 times from 2^16. */
const MIN_LOSS_SCALE = 1e-4;

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
  if ((options.group?.rank ?? 0) === 0) writeJson(join(config.runDir, "config.json"), config);
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

/** The ID tracking's fixed sample: of `metrics.idData` when set, else of the training data. */
function idTracking(
  { idSample, idData }: NonNullable<ResolvedTrainConfig["metrics"]>,
  training: FaceSource,
  options: { every: number; seed: number; batchSize: number },
): IdTracking {
  if (idData === undefined) return sampleTracking(training, { ...options, sample: idSample });
  const source = openDataset(idData);
  try {
    return sampleTracking(source, { ...options, sample: idSample });
  } finally {
    source.close();
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
  device: string,
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
      const classifier = loadClassifier(owner, entry, (owner === "teacher" && teacher ? teacher : model).embeddingSize);
      loaded[owner] = device === "cpu" ? classifier : { ...classifier, weight: moveKept(classifier.weight, device) };
    }
  } catch (error) {
    for (const classifier of Object.values(loaded)) classifier.weight.dispose();
    throw error;
  }
  return loaded;
}

/** `t` on `device`, outside every scope as `t` was; `t` is disposed. */
function moveKept(t: torch.Tensor, device: string): torch.Tensor {
  const moved = torch.keep(t.to({ device }));
  t.dispose();
  return moved;
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
  const device = torch.resolveDevice(config.device);
  const { group } = options;
  const lead = (group?.rank ?? 0) === 0; // the rank that writes, evaluates and reports
  torch.manualSeed(seed);
  const placement = { memoryFormat: config.memoryFormat, device } as const;
  const model = buildModel(config.model).to(placement);
  if (group && config.syncBatchNorm) torch.nn.synchronizeBatchNorm(model, group);
  const loss = combineLosses(config.losses, group ? { group } : {});
  loss.module.to({ device });
  const teacher = config.teacher && freeze(buildModel(config.teacher).to(placement));
  const frozen = loadClassifiers(config, model, teacher, device);
  const params = [...model.parameters(), ...loss.module.parameters()];
  const optimizer = buildOptimizer(params, config.optimizer);
  const sharded = group ? new ShardedHeads(loss.module, optimizer, group) : null;
  const shardedHeads = sharded?.any ? sharded : undefined;
  if (shardedHeads && options.evaluate) {
    // rank 0 alone evaluates and then checkpoints, but gathering the centres for a checkpoint takes every rank
    throw new Error(
      "evaluate: periodic evaluation is not available when the margin heads are split across ranks (data-parallel " +
        "runs with a margin loss): drop evaluate and run `facekd eval` on the finished model, or train on one process",
    );
  }
  const loader = new FaceLoader(source, {
    batchSize,
    imageSize: [model.spec.inputSize, model.spec.inputSize],
    seed,
    shuffle: config.data.shuffle ?? true,
    flip: config.data.flip ?? true,
    workers: config.data.workers ?? 2,
    strictDecode: config.data.strictDecode ?? false,
    skipCorrupt: config.data.skipCorrupt ?? false,
    onSkip: (error) => log(`skipping a corrupt record: ${error.message}`),
    layout: config.memoryFormat === "channels_last" ? "channels_last" : "nchw",
    position: last?.loader ?? { epoch: 0, index: 0 },
    ...(group && { shard: { rank: group.rank, worldSize: group.worldSize } }),
  });
  const totalSteps = config.steps ?? config.epochs! * loader.batchesPerEpoch;
  const scheduler = buildScheduler(optimizer, config.schedule, totalSteps);
  const scaler = config.precision === "float16" ? new torch.GradScaler() : undefined;
  const state: TrainState = {
    ...{ model, lossModule: loss.module, optimizer, scheduler },
    ...(scaler && { scaler }),
    ...(shardedHeads && { sharded: shardedHeads }),
  };
  if (last !== null) {
    loadCheckpoint(checkpoints, last, state);
    log(`resuming ${config.runDir} at step ${last.step}/${totalSteps}`);
  }

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
  const fixedContext: LossContext = precomputed ? { precomputed } : {};
  for (const [owner, classifier] of Object.entries(frozen) as [Role, Classifier][]) {
    if (!(owner === "teacher" && teacher)) fixedContext[owner] = { classifier: classifier.weight };
  }
  const step: StepInputs = {
    model,
    role,
    loss,
    optimizer,
    params,
    clipGradNorm: config.clipGradNorm,
    ...(shardedHeads && { clip: (p: readonly torch.nn.Parameter[], max: number) => shardedHeads.clipGradNorm(p, max) }),
    ...(device !== "cpu" && { device }),
    ...(config.precision !== "float32" && {
      autocast: { device: device === "cpu" ? "cpu" : "cuda", dtype: config.precision },
    }),
    ...(scaler && { scaler }),
    ...(own ? { classify: (embedding: torch.Tensor) => classify(embedding, own, logits) } : {}),
    ...(teacher ? { teacher: teacherOutputs } : {}),
  };
  const metrics = new MetricsLog(join(config.runDir, "metrics.jsonl"));
  const idEvery = config.metrics?.idEvery;
  const listeners: TrainListener[] = [];
  const lastGood = () => readSidecar(checkpoints, "last")?.step ?? null;
  listeners.push(
    ...(group
      ? [
          dataParallel(
            new GradientSync(group, BUCKET_BYTES, config.overlapGradients),
            [model, loss.module],
            shardedHeads?.parameters,
          ),
        ]
      : []),
    nanGuard(checkpoints, lastGood),
    ...(scaler ? [lossScaleGuard(scaler, MIN_LOSS_SCALE, lastGood)] : []),
    ...(lead ? [metricsListener(metrics)] : []),
    ...(lead && idEvery !== undefined
      ? [intrinsicDimensionListener(idTracking(config.metrics!, source, { every: idEvery, seed, batchSize }), metrics)]
      : []),
    ...(lead && options.evaluate ? [evaluationListener(options.evaluate, listeners)] : []),
    checkpointListener(options.stopAt),
    ...(lead ? [options.progress ?? progressLines(log)] : []),
    ...(options.listeners ?? []),
  );
  model.train();
  loss.module.train();
  try {
    const inputs = { config, state, step, loader, totalSteps, resumed: last, fixedContext, checkpoints, log };
    const parallel = { worldSize: group?.worldSize ?? 1, writesCheckpoints: lead };
    const end = await runLoop(
      { ...inputs, ...parallel, ...(options.stopAt !== undefined && { stopAt: options.stopAt }) },
      listeners,
    );
    let modelFile: string | null = null;
    let headFile: string | null = null;
    // the sharded heads' centres whole, from every rank
    const whole = end.finished ? (shardedHeads?.gather() ?? null) : null;
    if (end.finished && lead) {
      modelFile = join(config.runDir, "model.safetensors");
      saveBackbone(modelFile, model);
      const head = new Map([...loss.module.stateDict()].map(([k, t]) => [k, whole?.weights.get(k) ?? t] as const));
      if (head.size > 0) {
        headFile = join(config.runDir, "head.safetensors");
        saveSafetensors(headFile, head);
      }
    }
    for (const t of whole?.weights.values() ?? []) t.dispose();
    group?.barrier(); // the files exist when any rank returns
    return { step: end.step, totalSteps, finished: end.finished, modelFile, headFile, best: end.best };
  } finally {
    await loader.close();
    for (const module of [model, loss.module, teacher]) module?.dispose();
    for (const classifier of Object.values(frozen)) classifier.weight.dispose();
    optimizer.dispose();
  }
}
