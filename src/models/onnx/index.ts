// ONNX in and out: export of any registered backbone, import of PyTorch-exported IResNet / MobileFaceNet files.
export {
  exportOnnx,
  encodeOnnx,
  OPSETS,
  PRELU_FORMS,
  type ExportOptions,
  type ExportResult,
  type PreluForm,
} from "./export.js";
export { ONNX_METADATA, metadataOf } from "./metadata.js";
export { traceLayerGraph, type Layer, type LayerGraph, type LayerKind } from "./layer-graph.js";
export { foldBatchNorms } from "./fold.js";
export { loadOnnxBackbone, findFittingOnnxModels, OnnxMismatchError } from "./import.js";
export { readOnnxGraph, type FileGraph } from "./read-graph.js";
export { OnnxTeacher, type OnnxInputOptions, type ResolvedOnnxInput } from "./teacher.js";
