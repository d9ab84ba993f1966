// Classification terms, so that a whole objective (L_cls + distillation) is one list of weighted losses: the margin
// softmax of a face head (ArcFace, CosFace, ... through Partial FC) and the plain cross entropy of given logits.
import { z } from "zod";
import * as torch from "../torch/index.js";
import {
  MARGIN_NAMES,
  PartialFC,
  ShardedPartialFC,
  createMargin,
  type CombinedMarginOptions,
} from "../models/heads/index.js";
import { oneOf } from "./check.js";
import { labels, output, type Loss, type Role } from "./context.js";
import { marginParameters, role } from "./options.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;
const ROLES: readonly Role[] = ["student", "teacher"];

export interface ClassifiedModel {
  /** Whose embedding (margin head) or logits (cross entropy) are classified: the model being trained. */
  model?: Role;
}

/** The margin softmax cross entropy of `head` on the `model`'s embedding and the true labels. */
export function marginLoss(head: PartialFC | ShardedPartialFC, { model = "student" }: ClassifiedModel = {}): Loss {
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

const positiveInt = (what: string) => z.number({ error: "must be a positive integer" }).int().positive().describe(what);

for (const margin of MARGIN_NAMES) {
  const { s, m, m1, m2, m3 } = marginParameters;
  const parameters = margin === "combined" ? { s, m1, m2, m3 } : margin === "normface" ? { s } : { s, m };
  defineLoss({
    name: margin,
    summary: `${margin} margin softmax through a Partial FC head of its own (numClasses x embeddingSize centres)`,
    kind: "classification",
    reads: ["embedding", "labels"],
    options: z.object({
      model: role("embedding is classified"),
      numClasses: positiveInt("identities in the training set"),
      embeddingSize: positiveInt("the embedding's size").default(512),
      sampleRate: z.number().positive().max(1).default(1).describe("Partial FC: fraction of class centres per step"),
      ...parameters,
    }),
    // on several ranks the class centres are split among them (arcface_torch's model-parallel Partial FC)
    create: ({ model, numClasses, embeddingSize, sampleRate, ...marginOptions }, adopt, { group }) => {
      const options = {
        margin: createMargin(margin, marginOptions as CombinedMarginOptions & { m?: number }),
        numClasses,
        embeddingSize,
        sampleRate,
      };
      const head =
        group !== undefined && group.worldSize > 1 ? new ShardedPartialFC(options, group) : new PartialFC(options);
      return marginLoss(adopt(head), { model });
    },
  });
}
defineLoss({
  name: "ce",
  summary: "cross entropy of a model's logits against the labels",
  kind: "classification",
  reads: ["logits", "labels"],
  options: z.object({
    model: role("logits are classified"),
    labelSmoothing: z.number().min(0).max(1).default(0).describe("label smoothing epsilon"),
  }),
  create: (o) => crossEntropyLoss(o),
});
