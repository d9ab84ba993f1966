// Configuration files and their validation, shared by every command and pipeline.
export {
  strict,
  checkConfig,
  parseConfig,
  keyText,
  ConfigError,
  ConfigProblems,
  type ConfigProblem,
} from "./schema.js";
export { readConfigFile, locateConfigError, type ConfigFileOptions } from "./file.js";
export { setDottedKey } from "./keys.js";
export { inputPathProblem, outputFolderProblem } from "./paths.js";
export { documentKeys, type KeyDoc } from "./docs.js";
