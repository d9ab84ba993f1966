// Distillation schemes, in the usual classification (Gou et al., "Knowledge Distillation: A Survey", IJCV 2021):
// where the teacher's outputs come from.
// - Offline: a frozen, pretrained teacher run under noGrad each step (`freeze`, `frozenOutputs`), or its embeddings
//   precomputed once (store.ts).
// - Online: teacher and student train together, each distilling from the other (`mutual`, deep mutual learning).
// - Self: a model distills an earlier snapshot of itself (`snapshot`, kept current with `emaUpdate` or re-taken).
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import type { BackboneFeatures } from "../models/index.js";
import type { Loss, LossContext, ModelOutputs } from "./context.js";
import { kdLoss } from "./response.js";

type AnyModule = torch.nn.Module<never[], unknown>;

/** Puts `module` in eval mode and stops gradients to its parameters. Returns it. */
export function freeze<M extends AnyModule>(module: M): M {
  module.eval();
  for (const p of module.parameters()) p.requiresGrad_(false);
  return module;
}

/**
 * A backbone's embedding and tap maps for `input`, computed without gradient (an offline teacher's step; `freeze`
 * the teacher first, so that BatchNorm uses its running statistics).
 */
export function frozenOutputs(
  model: { forwardFeatures(input: Tensor): BackboneFeatures },
  input: Tensor,
  classifier?: Tensor,
): ModelOutputs {
  const { embedding, stages } = torch.noGrad(() => model.forwardFeatures(input));
  return classifier ? { embedding, features: stages, classifier } : { embedding, features: stages };
}

/** Both directions' losses of online distillation: each one's gradient reaches one model only. */
export type MutualLoss = (ctx: LossContext) => { student: Tensor; teacher: Tensor };

function detachOutputs(outputs: ModelOutputs | undefined): ModelOutputs | undefined {
  if (!outputs) return undefined;
  const features = outputs.features
    ? Object.fromEntries(Object.entries(outputs.features).map(([k, v]) => [k, v.detach()]))
    : undefined;
  return {
    embedding: outputs.embedding?.detach(),
    logits: outputs.logits?.detach(),
    features,
    classifier: outputs.classifier?.detach(),
  };
}

/**
 * Online distillation: a loss in both directions. `student` is the loss with the teacher's outputs as fixed
 * targets (its gradient reaches the student only); `teacher` is the same loss with the roles swapped and the
 * student's outputs fixed. Suits losses that treat both sides alike (KD, embedding distances, relations).
 */
export function mutual(loss: Loss): MutualLoss {
  return (ctx) => ({
    student: loss({ ...ctx, teacher: detachOutputs(ctx.teacher) }),
    teacher: loss({
      ...ctx,
      student: ctx.teacher,
      teacher: detachOutputs(ctx.student),
      precomputed: ctx.precomputed && { student: ctx.precomputed.teacher, teacher: ctx.precomputed.student },
    }),
  });
}

/**
 * Deep mutual learning (Zhang et al. 2018): KL between the two models' predictions, both ways (T = 1 in the paper);
 * add each model's own cross entropy.
 */
export function deepMutualLearning({ temperature = 1 }: { temperature?: number } = {}): MutualLoss {
  return mutual(kdLoss({ temperature }));
}

/**
 * Self-distillation's teacher: a frozen copy of `source`'s current weights in a module made by `build` (the same
 * architecture, such as `() => createModel(spec)`).
 */
export function snapshot<M extends AnyModule>(source: AnyModule, build: () => M): M {
  const copy = build();
  copy.loadStateDict(source.stateDict());
  return freeze(copy);
}

/**
 * Moves a snapshot towards the live model: every floating-point parameter and buffer becomes
 * decay * snapshot + (1 - decay) * source; integer buffers (BatchNorm's counter) are copied.
 */
export function emaUpdate(target: AnyModule, source: AnyModule, decay = 0.999): void {
  if (!(decay >= 0 && decay <= 1)) throw new RangeError(`emaUpdate: decay must be in [0, 1], got ${decay}`);
  const from = source.stateDict();
  const to = target.stateDict();
  const mismatched = [...to.keys()].filter((k) => from.get(k)?.shape.join(",") !== to.get(k)!.shape.join(","));
  if (mismatched.length > 0 || from.size !== to.size) {
    throw new Error(
      `emaUpdate: the snapshot and the model differ in ${mismatched.length ? mismatched.join(", ") : "their keys"} ` +
        "(take the snapshot from the same architecture)",
    );
  }
  torch.noGrad(() => {
    for (const [key, t] of to) {
      const s = from.get(key)!;
      if (torch.isFloatingDType(t.dtype)) t.lerp_(s, 1 - decay);
      else t.copy_(s);
    }
  });
}
