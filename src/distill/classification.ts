// Classification terms, so that a whole objective (L_cls + distillation) is one list of weighted losses: the margin
// softmax of a face head (ArcFace, CosFace, ... through Partial FC) and the plain cross entropy of given logits.
import * as torch from "../torch/index.js";
import type { PartialFC } from "../models/heads/index.js";
import { oneOf } from "./check.js";
import { labels, output, type Loss, type Role } from "./context.js";

const F = torch.nn.functional;
const ROLES: readonly Role[] = ["student", "teacher"];

export interface ClassifiedModel {
  /** Whose embedding (margin head) or logits (cross entropy) are classified: the model being trained. */
  model?: Role;
}

/** The margin softmax cross entropy of `head` on the `model`'s embedding and the true labels. */
export function marginLoss(head: PartialFC, { model = "student" }: ClassifiedModel = {}): Loss {
  const name = "classification";
  oneOf(name, "model", model, ROLES);
  return (ctx) => head.forward(output(ctx, model, "embedding", name), labels(ctx, name));
}

/** Cross entropy of the `model`'s logits against the true labels, with optional label smoothing. */
export function crossEntropyLoss({
  model = "student",
  labelSmoothing = 0,
}: ClassifiedModel & { labelSmoothing?: number } = {}): Loss {
  const name = "ce";
  oneOf(name, "model", model, ROLES);
  return (ctx) => F.crossEntropy(output(ctx, model, "logits", name), labels(ctx, name), { labelSmoothing });
}
