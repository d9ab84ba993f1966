// The optimizer and lr schedule of a run, from its config. The schedule is stepped once per training step
// (skipped steps included), so the lr is a function of the step alone and a resumed run follows it exactly.
import * as torch from "../torch/index.js";
import type { OptimizerConfig, ScheduleConfig } from "./config.js";

const { optim } = torch;

export function buildOptimizer(
  params: torch.nn.Parameter[],
  config: OptimizerConfig,
): torch.optim.SGD | torch.optim.AdamW {
  const { type, lr, weightDecay, momentum, nesterov, betas } = config;
  if (type === "sgd")
    return new optim.SGD(params, { lr, weightDecay: weightDecay ?? 5e-4, momentum: momentum ?? 0.9, nesterov });
  return new optim.AdamW(params, { lr, weightDecay, betas });
}

export function buildScheduler(
  optimizer: torch.optim.LRSchedulable,
  config: ScheduleConfig,
  totalSteps: number,
): torch.optim.LRScheduler {
  const warmupSteps = config.warmupSteps ?? 0;
  const steps = Math.max(1, totalSteps - warmupSteps);
  const inner = (() => {
    switch (config.type) {
      case "constant":
        return new optim.StepLR(optimizer, { stepSize: Number.MAX_SAFE_INTEGER, gamma: 1 });
      case "polynomial":
        return new optim.PolynomialLR(optimizer, { totalSteps: steps, power: config.power ?? 1 });
      case "cosine":
        return new optim.CosineAnnealingLR(optimizer, { tMax: steps });
      case "multistep":
        return new optim.MultiStepLR(optimizer, { milestones: config.milestones ?? [], gamma: config.gamma ?? 0.1 });
    }
  })();
  return warmupSteps > 0 ? new optim.LinearWarmup(inner, { warmupSteps }) : inner;
}
