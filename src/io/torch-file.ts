// Reading PyTorch's `torch.save` files (the zip format of PyTorch >= 1.6): `<archive>/data.pkl` is a pickle whose
// tensors point (through persistent ids) at raw little-endian storages stored as `<archive>/data/<key>`.
// libtorch's own C++ unpickler maps collections.OrderedDict to None, so state dicts saved from Python need this.
import { readFileSync } from "node:fs";
import { DTYPE_BYTES, aten, fromBytes, tidy, type DType, type Tensor } from "../torch/index.js";
import { commonGlobals, describeValue, isTuple, PickleGlobal, unpickle, type GlobalHandler } from "./pickle.js";
import { readZip, type ZipRecord } from "./zip.js";
import type { TensorHeader } from "./safetensors.js";

export interface TorchFileOptions {
  /**
   * More globals to allow in the pickle, keyed by `module.name`, for checkpoints that also hold objects such as
   * `argparse.Namespace` (see placeholderGlobal in pickle.ts). Tensors and state dicts need nothing here.
   */
  globals?: Readonly<Record<string, GlobalHandler>>;
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

/** A storage named by a persistent id: `<archive>/data/<key>`, holding `numel` elements of `dtype`. */
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: DType,
    readonly numel: number,
  ) {}
}

/** A tensor as the pickle describes it: a strided view of a storage. Made into a Tensor after parsing. */
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

function ints(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new Error(`${what} must be a tuple of non-negative integers, got ${describeValue(value)}`);
  }
  return value as number[];
}

function rebuildTensor([storage, offset, size, stride]: unknown[]): TensorRef {
  if (!(storage instanceof StorageRef)) throw new Error(`a tensor's storage is a ${describeValue(storage)}`);
  if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error("a tensor's storage offset is invalid");
  const sizes = ints(size, "a tensor's size");
  const strides = ints(stride, "a tensor's stride");
  if (sizes.length !== strides.length)
    throw new Error(`a tensor has ${sizes.length} sizes but ${strides.length} strides`);
  return new TensorRef(storage, offset as number, sizes, strides);
}

function tensorGlobals(): Record<string, GlobalHandler> {
  const globals: Record<string, GlobalHandler> = {
    "collections.OrderedDict": commonGlobals["collections.OrderedDict"]!,
    "torch._utils._rebuild_tensor_v2": { call: rebuildTensor },
    "torch._utils._rebuild_tensor": { call: rebuildTensor },
    // parameters load as plain tensors: the data is what a state dict is for
    "torch._utils._rebuild_parameter": { call: ([data]) => data },
    "torch._utils._rebuild_parameter_with_state": { call: ([data]) => data },
    "torch.Size": { call: ([dims]) => Object.freeze([...ints(dims, "torch.Size")]) },
  };
  for (const name of Object.keys(STORAGE_DTYPES)) globals[`torch.${name}`] = {};
  return globals;
}

/**
 * Reads the tensors of a `torch.save` file (a state dict, or a checkpoint dict holding one). Nested dicts give
 * dotted names (`{"state_dict": {"fc.weight": ...}, "epoch": 3}` yields `state_dict.fc.weight`), values that
 * are not tensors or dicts are skipped, and the order is the file's. Tensors sharing a storage come back as
 * separate contiguous copies. Nothing in the file is executed: only tensor-related globals are resolved. Every
 * record read is checked against its CRC-32, so a damaged file is an error naming the record, never other values.
 */
export function loadTorchFile(file: string, options: TorchFileOptions = {}): Map<string, Tensor> {
  const { refs, files, archive, where } = parseTorchFile(file, options);
  return materialize(refs, files, archive, where);
}

/**
 * The names, types and shapes of a torch.save file's tensors (as loadTorchFile names them), from its pickle alone:
 * the storages are neither read into tensors nor checked against their CRC-32.
 */
export function readTorchFileHeader(file: string, options: TorchFileOptions = {}): Map<string, TensorHeader> {
  const { refs } = parseTorchFile(file, options);
  return new Map([...refs].map(([name, ref]) => [name, { dtype: ref.storage.dtype, shape: ref.size }]));
}

// The archive's records and the tensors its pickle describes.
function parseTorchFile(
  file: string,
  options: TorchFileOptions,
): { refs: Map<string, TensorRef>; files: Map<string, ZipRecord>; archive: string; where: string } {
  const bytes = readFileSync(file);
  const where = `loadTorchFile(${file})`;
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) {
    const legacy = bytes[0] === 0x80;
    throw new Error(
      `${where}: not a zip archive. ` +
        (legacy
          ? "It looks like the legacy torch.save format (PyTorch < 1.6 or _use_new_zipfile_serialization=False), " +
            "which is not supported: load it in Python and save it again with torch.save(obj, path)."
          : "Expected a file written by torch.save (PyTorch >= 1.6)."),
    );
  }
  const files = readZip(bytes, where);
  const pickles = [...files.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new Error(
      `${where}: expected one '<archive>/data.pkl' entry, found ${pickles.length ? pickles.join(", ") : "none"}` +
        " (is this a torch.save file, and not a TorchScript model from torch.jit.save?)",
    );
  }
  const pklName = pickles[0]!;
  const archive = pklName.slice(0, -"/data.pkl".length);
  const byteorder = files.get(`${archive}/byteorder`)?.read();
  if (byteorder !== undefined && new TextDecoder().decode(byteorder).trim() !== "little") {
    throw new Error(`${where}: ${archive}/byteorder says big-endian storages, which are not supported`);
  }

  const storages = new Map<string, StorageRef>();
  const root = unpickle(files.get(pklName)!.read(), {
    source: `${file} (${pklName})`,
    globals: { ...tensorGlobals(), ...options.globals },
    persistentLoad: (pid) => persistentStorage(pid, storages),
  });
  if (!(root instanceof Map)) {
    throw new Error(`${where}: the file holds a ${describeValue(root)}, not a dict of tensors (a state dict)`);
  }
  const refs = new Map<string, TensorRef>();
  collect(root, "", refs, new Set(), where);
  return { refs, files, archive, where };
}

function persistentStorage(pid: unknown, storages: Map<string, StorageRef>): StorageRef {
  if (!Array.isArray(pid) || !isTuple(pid) || pid[0] !== "storage" || pid.length < 5) {
    throw new Error(
      `unexpected persistent id ${describeValue(pid)} (expected ('storage', type, key, location, numel))`,
    );
  }
  const [, type, key, , numel] = pid;
  if (!(type instanceof PickleGlobal) || typeof key !== "string" || !Number.isSafeInteger(numel)) {
    throw new Error(`malformed storage id for key ${describeValue(key)}`);
  }
  const dtype = STORAGE_DTYPES[type.name];
  if (type.module !== "torch" || dtype === undefined) {
    throw new Error(`storage '${key}' has the unsupported type ${type.qualifiedName}`);
  }
  let ref = storages.get(key);
  if (ref === undefined) storages.set(key, (ref = new StorageRef(key, dtype, numel as number)));
  else if (ref.dtype !== dtype) throw new Error(`storage '${key}' is used both as ${ref.dtype} and as ${dtype}`);
  return ref;
}

// Flattens nested dicts into dotted names, keeping tensors and skipping every other value.
function collect(
  dict: Map<unknown, unknown>,
  prefix: string,
  out: Map<string, TensorRef>,
  seen: Set<unknown>,
  where: string,
): void {
  if (seen.has(dict)) return;
  seen.add(dict);
  for (const [key, value] of dict) {
    if (typeof key !== "string" && typeof key !== "number" && typeof key !== "bigint") continue;
    const name = prefix + String(key);
    if (value instanceof TensorRef) {
      if (out.has(name)) throw new Error(`${where}: two entries flatten to the name '${name}'`);
      out.set(name, value);
    } else if (value instanceof Map) {
      collect(value, name + ".", out, seen, where);
    }
  }
}

function materialize(
  refs: Map<string, TensorRef>,
  files: Map<string, ZipRecord>,
  archive: string,
  where: string,
): Map<string, Tensor> {
  // free each storage once its last tensor is copied out of it
  const uses = new Map<string, number>();
  for (const ref of refs.values()) uses.set(ref.storage.key, (uses.get(ref.storage.key) ?? 0) + 1);
  const storages = new Map<string, Tensor>();
  return tidy(() => {
    const out = new Map<string, Tensor>();
    for (const [name, ref] of refs) {
      const { key, dtype, numel } = ref.storage;
      let storage = storages.get(key);
      if (storage === undefined) {
        const entry = `${archive}/data/${key}`;
        const record = files.get(entry);
        if (record === undefined) throw new Error(`${where}: tensor '${name}' needs the missing entry ${entry}`);
        const expected = numel * DTYPE_BYTES[dtype];
        if (record.size !== expected) {
          throw new Error(
            `${where}: entry ${entry} (storage of '${name}') holds ${record.size} bytes, but ${numel} ${dtype} ` +
              `elements need ${expected}: the file is truncated or corrupt`,
          );
        }
        storage = fromBytes(record.read(), dtype, [numel]);
        storages.set(key, storage);
      }
      const count = ref.size.reduce((a, b) => a * b, 1);
      const last = ref.offset + ref.size.reduce((acc, s, i) => acc + (s - 1) * ref.stride[i]!, 0);
      if (count > 0 && last >= numel) {
        throw new Error(
          `${where}: tensor '${name}' (size [${ref.size.join(", ")}], stride [${ref.stride.join(", ")}], offset ` +
            `${ref.offset}) reaches element ${last} of storage '${key}', which has ${numel}`,
        );
      }
      const view = aten.as_strided(storage, ref.size, ref.stride, ref.offset);
      out.set(name, aten.clone(view, "contiguous"));
      view.dispose();
      const left = uses.get(key)! - 1;
      uses.set(key, left);
      if (left === 0) storage.dispose();
    }
    return out;
  });
}
