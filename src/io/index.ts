// File formats and writing them safely: safetensors, PyTorch's torch.save files and the safe pickle reader under
// them, NumPy's .npy (whole and streamed by rows), JSON, and atomic writes.
export {
  saveSafetensors,
  loadSafetensors,
  readSafetensorsHeader,
  CHECKSUM_KEY,
  type SafetensorsContents,
  type TensorHeader,
} from "./safetensors.js";
export { loadTorchFile, readTorchFileHeader, type TorchFileOptions } from "./torch-file.js";
export { writeAtomically } from "./atomic.js";
export { linkTree } from "./link-tree.js";
export { toJson, writeJson } from "./json-file.js";
export * from "./npy.js";
export * from "./npy-stream.js";
export {
  unpickle,
  isTuple,
  describeValue,
  placeholderGlobal,
  commonGlobals,
  PickleError,
  PickleGlobal,
  PickleObject,
  type GlobalHandler,
  type PickleOptions,
} from "./pickle.js";
export * from "./file-digest.js";
