// Distillation losses and schemes: one uniform signature, `(ctx: LossContext) => Tensor`, selectable by name and
// combinable with weights (registry.ts). Each family's file documents its definitions and reduction.
export {
  feature,
  labels,
  output,
  precomputedRows,
  representation,
  teacherEmbedding,
  type Loss,
  type LossContext,
  type ModelOutputs,
  type Role,
} from "./context.js";
export { EmbeddingStore, type EmbeddingLookup } from "./store.js";
export * from "./embedding.js";
export * from "./refo.js";
export * from "./classification.js";
export * from "./response.js";
export * from "./feature.js";
export * from "./relation.js";
export * from "./head-sharing.js";
export * from "./schemes.js";
export * from "./ekd.js";
export * from "./qud.js";
export * from "./adadistill.js";
export * from "./margin-distillation.js";
export * from "./crd.js";
export * from "./pkt.js";
export * from "./dkd.js";
export * from "./registry.js";
export type { LossSpec } from "./loss-spec.js";
