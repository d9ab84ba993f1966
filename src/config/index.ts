// Configuration files and their validation, shared by every command and pipeline.
export { strict, checkConfig, parseConfig, keyText, type ConfigProblem } from "./schema.js";
export { readConfigFile, type ConfigFileOptions } from "./file.js";
export { documentKeys, type KeyDoc } from "./docs.js";
