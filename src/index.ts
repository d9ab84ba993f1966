// facekd: the library entry.
export * as torch from "./torch/index.js";
export * as models from "./models/index.js";
export * as distill from "./distill/index.js";
export * as data from "./data/index.js";
export * as train from "./train/index.js";
export * as evaluation from "./eval/index.js";
export * as analysis from "./analysis/index.js";
export * as io from "./io/index.js";
export * as infer from "./infer/index.js";
