// Optimizers, learning-rate schedulers and gradient clipping.
export {
  Optimizer,
  type BaseHyper,
  type ParamGroup,
  type ResolvedGroup,
  type ParamState,
  type OptimizerMeta,
  type OptimizerStateDict,
} from "./optimizer.js";
export { SGD, type SGDHyper, type SGDOptions, type SGDState } from "./sgd.js";
export { AdamW, type AdamWHyper, type AdamWOptions, type AdamWState } from "./adamw.js";
export * from "./schedulers.js";
export { clipGradNorm } from "./clip.js";
