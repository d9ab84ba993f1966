// The classifiers the losses see: the trained model's margin head, and frozen ones from finished runs (their
// head.safetensors, the loss module's state dict). Face classifiers are cosine classifiers, so their margin-free
// logits are s * cos(f, w_c): the input of Hinton KD and plain cross entropy.
import { existsSync } from "node:fs";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { PartialFC, cosineLogits } from "../models/heads/index.js";
import type { CombinedLoss, LossSpec, ModelOutputs, Role } from "../distill/index.js";
import type { TrainConfig } from "./config.js";

/** Class centres [classes, D] and the scale s of their logits. */
export interface Classifier {
  weight: Tensor;
  scale: number;
}

export type FrozenClassifierConfig = NonNullable<NonNullable<TrainConfig["classifiers"]>[Role]>;

// the built-in losses that read logits: only with one of them are logits computed at each step
const LOGIT_LOSSES = new Set(["ce", "kd", "kd-ce", "dkd"]);

export const needsLogits = (loss: CombinedLoss): boolean => loss.terms.some((t) => LOGIT_LOSSES.has(t.name));

/** The margin-free logits s * cos(f, W) [N, classes] of embeddings [N, D]. */
export function classifierLogits(embedding: Tensor, { weight, scale }: Classifier): Tensor {
  return torch.tidy(() => cosineLogits(embedding, weight).mul(scale));
}

/** What a model's classifier adds to its outputs: the class centres and, with `logits`, its logits. */
export function classify(embedding: Tensor, classifier: Classifier, logits: boolean): ModelOutputs {
  const outputs: ModelOutputs = { classifier: classifier.weight };
  if (logits) outputs.logits = classifierLogits(embedding, classifier);
  return outputs;
}

/** The trained model's classifier: the Partial FC head of its first margin term (arcface, cosface, ...), or null. */
export function trainedClassifier(loss: CombinedLoss, specs: readonly LossSpec[], role: Role): Classifier | null {
  const modules = new Map(loss.module.namedChildren());
  for (const [i, { label }] of loss.terms.entries()) {
    const head = modules.get(label);
    if (head instanceof PartialFC && (specs[i]!.options?.model ?? "student") === role) {
      return { weight: head.weight, scale: head.margin.s };
    }
  }
  return null;
}

/**
 * The frozen classifier of `owner` from a finished run's head.safetensors, checked against the `embeddingSize` it
 * is applied to. Its tensor is the caller's to dispose.
 */
export function loadClassifier(owner: Role, config: FrozenClassifierConfig, embeddingSize: number): Classifier {
  const { path, key, scale = 64 } = config;
  const where = `classifiers.${owner}`;
  if (!existsSync(path)) {
    throw new Error(
      `${where}.path: ${path} does not exist: train the ${owner} first, or point ${where}.path at a finished ` +
        "run's head.safetensors",
    );
  }
  const weight = torch.tidy(() => {
    const { tensors } = torch.serialize.loadSafetensors(path);
    const centres = [...tensors].filter(([k, t]) => k.endsWith(".weight") && t.ndim === 2).map(([k]) => k);
    const listed = centres.length > 0 ? centres.join(", ") : "none";
    if (key !== undefined && !centres.includes(key)) {
      throw new Error(`${where}.key: ${path} has no [classes, D] tensor '${key}' (its class centres: ${listed})`);
    }
    if (key === undefined && centres.length !== 1) {
      throw new Error(
        centres.length === 0
          ? `${where}.path: ${path} holds no [classes, D] '*.weight' tensor: point it at a finished run's head.safetensors`
          : `${where}: ${path} holds several classifiers (${listed}): set ${where}.key to one of them`,
      );
    }
    const chosen = key ?? centres[0]!;
    const w = tensors.get(chosen)!;
    if (w.size(1) !== embeddingSize) {
      throw new RangeError(
        `${where}: ${path} '${chosen}' [${w.shape.join(", ")}] takes ${w.size(1)}-d embeddings but the model it ` +
          `is applied to makes ${embeddingSize}-d ones (use the head of a run with embeddingSize ${embeddingSize})`,
      );
    }
    return w.float().detach();
  });
  return { weight, scale };
}
