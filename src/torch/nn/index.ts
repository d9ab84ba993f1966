export { Module, StateDictError, type StateDict, type LoadResult } from "./module.js";
export { Parameter } from "./parameter.js";
export * from "./layers.js";
export * as functional from "./functional.js";
export * as init from "./init.js";
export { pipe, type Layer } from "./pipe.js";
export { synchronizeBatchNorm, type StatisticsGroup } from "./sync-batch-norm.js";
