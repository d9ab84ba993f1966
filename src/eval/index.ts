// Face-verification and identification evaluation: the insightface pair protocol, IJB-style templates,
// large-scale all-vs-all scoring, 1:N identification, ROC metrics, and their tables and plots.
export { l2Normalize, combineFlip } from "./embeddings.js";
export { kFoldRanges, type FoldRange } from "./folds.js";
export {
  STANDARD_FARS,
  rocFromScores,
  rocFromHistogram,
  type RocCurve,
  type RocOptions,
  type RocSummary,
  type ScoreHistogram,
  type TarAtFar,
} from "./roc.js";
export { pairsOfPack, pairsOfList, verifyPairs, type PairProtocolOptions, type PairProtocolResult } from "./pairs.js";
export {
  poolTemplates,
  scoreTemplatePairs,
  verifyTemplates,
  type PooledTemplates,
  type TemplatePairs,
  type TemplatePoolingOptions,
} from "./templates.js";
export { allVsAllHistogram, verifyAllVsAll, type AllVsAllOptions, type AllVsAllResult } from "./all-vs-all.js";
export {
  STANDARD_FPIRS,
  identify,
  type IdentificationOptions,
  type IdentificationResult,
  type TpirAtFpir,
} from "./identification.js";
export { formatPairTable, formatTarTable, formatIdentificationTable } from "./tables.js";
export { rocChartSpec, writeRocPlot, type NamedCurve } from "./roc-plot.js";
export { distillationError, type DistillationErrorOptions } from "./distillation-error.js";
