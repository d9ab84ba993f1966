// Intrinsic dimension of embeddings (TwoNN and its variants, the ReFO protocol, block analysis, the intrinsic
// gap between models), exact nearest neighbours, and the small output helpers (tables, JSON, charts) that the
// evaluation reports share.
export { nearestNeighbours, nearestNeighboursAmong, type Neighbours, type NeighbourOptions } from "./neighbours.js";
export { twoNN, TWO_NN_VARIANTS, type TwoNNOptions, type TwoNNVariant } from "./twonn.js";
export {
  intrinsicDimension,
  type IntrinsicDimensionOptions,
  type IntrinsicDimensionResult,
} from "./intrinsic-dimension.js";
export {
  pairedGap,
  normalInterval,
  MIN_SAMPLE_SIZE,
  type IdInterval,
  type IdGap,
  type PairableId,
} from "./id-interval.js";
export {
  blockAnalysis,
  formatBlockAnalysisTable,
  type BlockAnalysisOptions,
  type BlockAnalysisRow,
} from "./block-analysis.js";
export {
  intrinsicGap,
  withGaps,
  withInterval,
  formatIntrinsicGapTable,
  intrinsicGapChartSpec,
  writeIntrinsicGapChart,
  type IntrinsicGapReport,
  type IntrinsicGapRow,
} from "./intrinsic-gap.js";
export { knownDimensionSet, KNOWN_DIMENSION_SETS, type KnownDimensionSet } from "./synthetic.js";
export { sampleIndices, permutation } from "./sampling.js";
export { renderChart, writeChart, type ChartFiles, type ChartSpec } from "./chart.js";
export { formatTable, percent } from "./text-table.js";
export { meanInterval, pairedDifference, PROPORTION, type MeanInterval } from "./confidence.js";
