// The one input every distillation loss takes, and reading from it with errors that say what is missing.
import type { Tensor } from "../torch/index.js";
import type { EmbeddingLookup } from "./store.js";

/** What one model produced for the batch. Every field is optional: each loss reads the ones it names. */
export interface ModelOutputs {
  /** The embedding [N, D], un-normalized (losses normalize where their definition says so). */
  embedding?: Tensor;
  /** Classifier logits [N, C] without margin: the input of the response-based losses. */
  logits?: Tensor;
  /** Intermediate feature maps [N, C, H, W] by tap name, as a backbone's `forwardFeatures(x).stages`. */
  features?: Readonly<Record<string, Tensor>>;
  /** The model's classifier (class centres) [classes, D]: the head-sharing losses apply it, frozen, to the other model. */
  classifier?: Tensor;
}

export type Role = "student" | "teacher";

/**
 * A batch as the losses see it. The model being trained may be either role: in ReFO's reverse distillation it is
 * the teacher. Losses use the tensors as given: compute a frozen model's outputs under `noGrad` (see schemes.ts).
 */
export interface LossContext {
  student?: ModelOutputs;
  teacher?: ModelOutputs;
  /** True class indices [N] (int64). */
  labels?: Tensor;
  /** The batch's sample indices in the dataset [N] (int64): the rows of the precomputed embeddings. */
  indices?: Tensor;
  /** Embeddings computed beforehand over the whole dataset, by the role of the model that made them. */
  precomputed?: Partial<Record<Role, EmbeddingLookup>>;
}

/** A loss: one scalar from the context. Every loss has this signature, so they select by name and combine. */
export type Loss = (ctx: LossContext) => Tensor;

const FIELD_HELP: Record<keyof ModelOutputs, string> = {
  embedding: "embedding [N, D]",
  logits: "logits [N, classes]",
  features: "feature maps by tap name",
  classifier: "classifier weight [classes, D]",
};

/** `ctx[role][field]`, or an error naming the loss and the missing input. */
export function output<K extends keyof ModelOutputs>(
  ctx: LossContext,
  role: Role,
  field: K,
  loss: string,
): NonNullable<ModelOutputs[K]> {
  const value = ctx[role]?.[field];
  if (value === undefined || value === null) {
    throw new Error(`loss '${loss}' needs the ${role}'s ${FIELD_HELP[field]}: set context.${role}.${field}`);
  }
  return value as NonNullable<ModelOutputs[K]>;
}

/** The feature map of `role` at tap `tap`, or an error listing the taps that are there. */
export function feature(ctx: LossContext, role: Role, tap: string, loss: string): Tensor {
  const maps = output(ctx, role, "features", loss);
  const map = maps[tap];
  if (map === undefined) {
    const known = Object.keys(maps);
    throw new Error(
      `loss '${loss}': the ${role} has no feature tap '${tap}' (it has ${known.length ? known.join(", ") : "none"})`,
    );
  }
  return map;
}

/** The embedding of `role`, or when `tap` is given its feature map at that tap flattened to [N, C*H*W]. */
export function representation(ctx: LossContext, role: Role, tap: string | undefined, loss: string): Tensor {
  return tap === undefined ? output(ctx, role, "embedding", loss) : feature(ctx, role, tap, loss).flatten(1);
}

export function labels(ctx: LossContext, loss: string): Tensor {
  if (!ctx.labels) throw new Error(`loss '${loss}' needs the true classes: set context.labels (int64 [N])`);
  return ctx.labels;
}

/** The precomputed embeddings of `role` at the batch's sample indices, in `like`'s dtype and on its device. */
export function precomputedRows(ctx: LossContext, role: Role, loss: string, like: Tensor): Tensor {
  const store = ctx.precomputed?.[role];
  if (!store) throw new Error(`loss '${loss}' needs precomputed ${role} embeddings: set context.precomputed.${role}`);
  if (!ctx.indices) {
    throw new Error(`loss '${loss}' needs the batch's sample indices to look up precomputed rows: set context.indices`);
  }
  return store.gather(ctx.indices).to({ dtype: like.dtype, device: like.device });
}

/**
 * The teacher's embedding of the batch: the live teacher's when the context has one, else its precomputed rows at
 * the batch's sample indices (as feature-only distillation reads them), in `like`'s dtype and on its device.
 */
export function teacherEmbedding(ctx: LossContext, loss: string, like: Tensor): Tensor {
  const live = ctx.teacher?.embedding;
  if (live) return live;
  if (!ctx.precomputed?.teacher) {
    throw new Error(
      `loss '${loss}' needs the teacher's embedding: set context.teacher.embedding (a live teacher) or ` +
        "context.precomputed.teacher with context.indices (precomputed teacher embeddings)",
    );
  }
  return precomputedRows(ctx, "teacher", loss, like);
}
