// Margin softmax heads and Partial FC.
export {
  CombinedMargin,
  ArcFace,
  CosFace,
  NormFace,
  createMargin,
  MARGIN_NAMES,
  cosineLogits,
  type CombinedMarginOptions,
  type MarginName,
} from "./margins.js";
export { PartialFC, type PartialFCOptions, type PartialFCLogits } from "./partial-fc.js";
export { ShardedPartialFC, classShard } from "./sharded-partial-fc.js";
