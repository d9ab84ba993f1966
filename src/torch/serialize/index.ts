// Reading and writing tensors: safetensors files, PyTorch's torch.save files, and the safe pickle reader under them.
export { saveSafetensors, loadSafetensors, CHECKSUM_KEY, type SafetensorsContents } from "./safetensors.js";
export { loadTorchFile, type TorchFileOptions } from "./torch-file.js";
export { writeAtomically } from "./atomic.js";
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
