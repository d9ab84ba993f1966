// Verification packs (lfw.bin, cfp_fp.bin, agedb_30.bin, ...): a pickled (bins, issame_list) where pair i is
// (bins[2i], bins[2i+1]). Python 2 packs (protocol 2, str payloads), Python 3 packs (protocols 3-5, bytes or str
// payloads) and packs of numpy uint8 arrays holding the encoded images are read; anything else is rejected.
import { readFileSync } from "node:fs";
import { commonGlobals, describeValue, unpickle, PickleError } from "../../io/index.js";
import { DataError } from "../errors.js";
import { NumpyArray, numpyGlobals } from "./numpy-globals.js";

export interface VerificationPack {
  /** 2N encoded images (JPEG/PNG): pair i is images[2i] and images[2i + 1]. */
  images: Uint8Array[];
  /** N flags: true when pair i shows one person. */
  issame: boolean[];
}

const CONVERT_HINT =
  "facekd reads packs whose images are encoded bytes (as insightface writes them); convert this one in Python: " +
  "`bins, issame = pickle.load(open(path, 'rb')); bins = [cv2.imencode('.jpg', a)[1].tobytes() if a.ndim == 3 " +
  "else a.tobytes() for a in bins]; pickle.dump((bins, [bool(s) for s in issame]), open(out, 'wb'), protocol=4)`";

export function readVerificationPack(path: string): VerificationPack {
  let data: unknown;
  try {
    data = unpickle(readFileSync(path), {
      globals: { ...commonGlobals, ...numpyGlobals },
      source: path,
    });
  } catch (error) {
    if (error instanceof PickleError) {
      throw new DataError(`${error.message}; is this a verification pack (a pickled (bins, issame_list))?`, {
        cause: error,
      });
    }
    throw error;
  }
  return parsePack(path, data);
}

function parsePack(path: string, data: unknown): VerificationPack {
  const fail = (problem: string, fix = "is this a verification pack (a pickled (bins, issame_list))?"): never => {
    throw new DataError(`${path}: ${problem}; ${fix}`);
  };
  if (!Array.isArray(data) || data.length !== 2) {
    fail(`expected a pickled pair (bins, issame_list), found ${describeValue(data)}`);
  }
  const [bins, flags] = data as [unknown, unknown];
  if (!Array.isArray(bins)) fail(`bins should be a list of encoded images, found ${describeValue(bins)}`);
  const issame = issameList(path, flags);
  const images = (bins as unknown[]).map((bin, i) => imageBytes(path, bin, i));
  if (images.length !== 2 * issame.length) {
    fail(
      `${images.length} images for ${issame.length} pairs (expected ${2 * issame.length}, two per pair)`,
      "the pack is truncated or not a verification pack",
    );
  }
  return { images, issame };
}

function imageBytes(path: string, bin: unknown, i: number): Uint8Array {
  if (bin instanceof Uint8Array) return bin;
  // Python 3 reading a Python 2 pack with encoding="latin1" and pickling it again makes str payloads
  if (typeof bin === "string") {
    const out = new Uint8Array(bin.length);
    for (let k = 0; k < bin.length; k++) {
      const c = bin.charCodeAt(k);
      if (c > 255) throw new DataError(`${path}: bins[${i}] is text with non-latin-1 characters, not image bytes`);
      out[k] = c;
    }
    return out;
  }
  if (bin instanceof NumpyArray) {
    if (bin.data !== null && bin.shape.length === 1 && bin.dtype.endsWith("u1") && !bin.fortranOrder) {
      checkArraySize(path, bin, `bins[${i}]`);
      return bin.data;
    }
    throw new DataError(
      `${path}: bins[${i}] is a numpy array of dtype ${bin.dtype} and shape [${bin.shape.join(", ")}], not the ` +
        `bytes of an encoded image; ${CONVERT_HINT}`,
    );
  }
  throw new DataError(`${path}: bins[${i}] is a ${describeValue(bin)}, not the bytes of an encoded image`);
}

function issameList(path: string, flags: unknown): boolean[] {
  const items = flags instanceof NumpyArray ? numpyBools(path, flags) : flags;
  if (!Array.isArray(items)) {
    throw new DataError(`${path}: issame_list should be a list of booleans, found ${describeValue(flags)}`);
  }
  return items.map((v, i) => {
    if (typeof v === "boolean") return v;
    if (v === 0 || v === 1) return v === 1;
    if (v instanceof NumpyArray && v.dtype.endsWith("b1") && v.data?.length === 1) return v.data[0] !== 0;
    throw new DataError(`${path}: issame_list[${i}] is a ${describeValue(v)}, expected a boolean`);
  });
}

function numpyBools(path: string, array: NumpyArray): boolean[] {
  if (!array.dtype.endsWith("b1") || array.shape.length !== 1 || array.data === null) {
    throw new DataError(
      `${path}: issame_list is a numpy array of dtype ${array.dtype} and shape [${array.shape.join(", ")}], ` +
        "expected a 1-d boolean array",
    );
  }
  checkArraySize(path, array, "issame_list");
  return Array.from(array.data, (b) => b !== 0);
}

// numpy refuses to rebuild an array whose bytes do not fill its shape exactly; so do we (a damaged size would
// otherwise cut an image short without a word)
function checkArraySize(path: string, array: NumpyArray, what: string): void {
  if (array.data!.length !== array.shape[0]) {
    throw new DataError(
      `${path}: ${what} is a numpy array of shape [${array.shape.join(", ")}] holding ${array.data!.length} bytes: ` +
        "the pack is damaged; re-copy it",
    );
  }
}
