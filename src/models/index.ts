// Face-recognition backbones (IResNet, MobileFaceNet, MobileNetV2) by name, their checkpoints, and margin heads.
export {
  Backbone,
  STAGE_NAMES,
  type BackboneSpec,
  type BackboneFeatures,
  type StageInfo,
} from "./backbones/backbone.js";
export { IResNet, IRESNET_LAYOUTS, type IResNetLayout } from "./backbones/iresnet.js";
export { MobileFaceNet, MOBILEFACENET_LAYOUTS, type MobileFaceNetLayout } from "./backbones/mobilefacenet.js";
export { MobileNetV2 } from "./backbones/mobilenetv2.js";
export {
  createModel,
  listModels,
  modelEntry,
  registerModel,
  registerVariant,
  resolveSpec,
  withModel,
  DEFAULT_OPTIONS,
  type BackboneOptions,
  type ModelEntry,
} from "./registry.js";
export {
  loadBackbone,
  checkBackboneFile,
  saveBackbone,
  readCheckpoint,
  checkWeights,
  findFittingModels,
  MAX_WEIGHT_MAGNITUDE,
  METADATA_MODEL,
  METADATA_SPEC,
  type CheckpointContents,
} from "./checkpoint.js";
export { countMultiplyAdds } from "./flops.js";
export { describeModel, describeBuilt, describeModels, formatModelTable, type ModelInfo } from "./summary.js";
export * as heads from "./heads/index.js";
export * from "./onnx/index.js";
