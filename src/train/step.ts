// One optimization step with the NaN/Inf guard: a step whose loss (or, with clipping, gradient norm) is not
// finite changes nothing (no update, BatchNorm statistics restored) and says why.
import * as torch from "../torch/index.js";
import type { CombinedLoss, LossContext, ModelOutputs, Role } from "../distill/index.js";
import type { Backbone } from "../models/index.js";

export interface StepInputs {
  model: Backbone;
  role: Role;
  loss: CombinedLoss;
  optimizer: torch.optim.Optimizer<torch.optim.BaseHyper>;
  params: torch.nn.Parameter[];
  clipGradNorm: number | undefined;
  /** The trained model's classifier outputs (class centres, logits) for its embedding, when it has a margin head. */
  classify?: (embedding: torch.Tensor) => ModelOutputs;
  /** The frozen teacher's outputs for these images, when there is a live teacher. */
  teacher?: (images: torch.Tensor) => ModelOutputs;
  /** Between backward and clipping (gradient synchronisation, unscaling), on every step: `problem` is why the step
   *  is skipped so far (backward did not run); a returned reason skips the step. */
  afterBackward?: (params: readonly torch.nn.Parameter[], problem: string | null) => string | null;
}

export interface StepOutcome {
  /** The weighted total loss. */
  value: number;
  terms: Record<string, number>;
  /** Why the step was skipped, or null. */
  problem: string | null;
}

/** Forward with feature taps, the combined loss, backward, clipping and the update, in one tidy() scope. */
export function trainStep(inputs: StepInputs, images: torch.Tensor, context: LossContext): StepOutcome {
  const { model, role, loss, optimizer, params, clipGradNorm } = inputs;
  return torch.tidy(() => {
    // BatchNorm statistics move in the forward pass: restored if the step is skipped
    const buffers = model.namedBuffers().map(([, b]) => [b, b.clone()] as const);
    const { embedding, stages } = model.forwardFeatures(images);
    const ctx: LossContext = { ...context, [role]: { embedding, features: stages, ...inputs.classify?.(embedding) } };
    if (inputs.teacher) ctx.teacher = inputs.teacher(images);
    const { total, terms } = loss(ctx);
    const value = total.item();
    let problem = Number.isFinite(value) ? null : `the loss is ${value}`;
    if (problem === null) total.backward();
    if (inputs.afterBackward) problem = inputs.afterBackward(params, problem) ?? problem;
    if (problem === null) {
      const norm = problem !== null || clipGradNorm === undefined ? 0 : torch.optim.clipGradNorm(params, clipGradNorm);
      if (problem === null && Number.isFinite(norm)) optimizer.step();
      else problem ??= `the gradient norm is ${norm}`;
    }
    if (problem !== null) torch.noGrad(() => buffers.forEach(([b, saved]) => b.copy_(saved)));
    optimizer.zeroGrad();
    return { value, terms, problem };
  });
}
