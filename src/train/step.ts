// One optimization step with the NaN/Inf guard: a step whose loss (or, with clipping, gradient norm) is not
// finite changes nothing (no update, BatchNorm statistics restored) and says why. With mixed precision the forward
// pass and the losses run under autocast (the parameters stay float32); with float16 the loss is scaled before
// backward and the gradients unscaled after the afterBackward hooks, so that data-parallel ranks reduce the scaled
// gradients and all see the same overflow (PyTorch's order with DDP and GradScaler).
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
  /** How gradients are clipped to clipGradNorm (default torch.optim.clipGradNorm; sharded heads need the norm
   *  across ranks); returns the norm before clipping. */
  clip?: (params: readonly torch.nn.Parameter[], maxNorm: number) => number;
  /** The trained model's classifier outputs (class centres, logits) for its embedding, when it has a margin head. */
  classify?: (embedding: torch.Tensor) => ModelOutputs;
  /** The frozen teacher's outputs for these images, when there is a live teacher. */
  teacher?: (images: torch.Tensor) => ModelOutputs;
  /** Between backward and unscaling (gradient synchronisation), on every step: `problem` is why the step is skipped
   *  so far (backward did not run); a returned reason skips the step. */
  afterBackward?: (params: readonly torch.nn.Parameter[], problem: string | null) => string | null;
  /** The device of the model: batches are copied there (unset: they stay where the loader made them, the CPU). */
  device?: string;
  /** Runs the forward pass and the losses in a lower precision. */
  autocast?: torch.AutocastOptions;
  /** float16's dynamic loss scaling. */
  scaler?: torch.GradScaler;
}

export interface StepOutcome {
  /** The weighted total loss. */
  value: number;
  terms: Record<string, number>;
  /** Why the step was skipped, or null. */
  problem: string | null;
  /** The loss scale this step used, with a scaler. */
  lossScale?: number;
  /** The step was skipped because its scaled gradients overflowed (the scaler backed off: not a divergence). */
  overflow?: boolean;
}

/** Forward with feature taps, the combined loss, backward, clipping and the update, in one tidy() scope. */
export function trainStep(inputs: StepInputs, batch: torch.Tensor, batchContext: LossContext): StepOutcome {
  const { model, role, loss, optimizer, params, clipGradNorm, scaler, device } = inputs;
  const clip = inputs.clip ?? ((p: readonly torch.nn.Parameter[], max: number) => torch.optim.clipGradNorm(p, max));
  return torch.tidy(() => {
    const images = device === undefined ? batch : batch.to({ device });
    // the sample indices stay on the CPU: they look up rows of files
    const context =
      device === undefined || !batchContext.labels
        ? batchContext
        : { ...batchContext, labels: batchContext.labels.to({ device }) };
    // BatchNorm statistics move in the forward pass: restored if the step is skipped
    const buffers = model.namedBuffers().map(([, b]) => [b, b.clone()] as const);
    const forward = () => {
      const { embedding, stages } = model.forwardFeatures(images);
      const ctx: LossContext = { ...context, [role]: { embedding, features: stages, ...inputs.classify?.(embedding) } };
      if (inputs.teacher) ctx.teacher = inputs.teacher(images);
      return loss(ctx);
    };
    const { total, terms } = inputs.autocast ? torch.autocast(inputs.autocast, forward) : forward();
    const value = total.item();
    const lossScale = scaler?.scale;
    let problem = Number.isFinite(value) ? null : `the loss is ${value}`;
    let overflow = false;
    // the hooks run on skipped steps too, so that every rank makes the same collectives
    if (problem === null) (scaler ? scaler.scaleLoss(total) : total).backward();
    if (inputs.afterBackward) problem = inputs.afterBackward(params, problem) ?? problem;
    if (problem === null && scaler?.unscaleAndUpdate(params)) {
      overflow = true;
      problem = `the float16 gradients overflowed at loss scale ${lossScale}; the scale is now ${scaler.scale}`;
    }
    if (problem === null) {
      const norm = problem !== null || clipGradNorm === undefined ? 0 : clip(params, clipGradNorm);
      if (problem === null && Number.isFinite(norm)) optimizer.step();
      else problem ??= `the gradient norm is ${norm}`;
    }
    if (problem !== null) torch.noGrad(() => buffers.forEach(([b, saved]) => b.copy_(saved)));
    optimizer.zeroGrad();
    return { value, terms, problem, ...(lossScale !== undefined && { lossScale }), ...(overflow && { overflow }) };
  });
}
