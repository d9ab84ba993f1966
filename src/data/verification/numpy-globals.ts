// The few numpy reconstruction globals that verification packs use, as handlers for the safe pickle reader.
// They build inert NumpyArray records; nothing is imported or executed.
import type { GlobalHandler } from "../../io/index.js";

/** A numpy array as pickled: its shape, dtype string (e.g. "|u1", "<f4") and raw bytes. */
export class NumpyArray {
  shape: number[] = [];
  dtype = "";
  fortranOrder = false;
  data: Uint8Array | null = null;
}

interface NumpyDtype {
  descr: string;
  byteOrder: string;
}

function dtypeOf(value: unknown): NumpyDtype {
  if (typeof value !== "object" || value === null || !("descr" in value)) {
    throw new Error("expected a numpy.dtype in the array state");
  }
  return value as NumpyDtype;
}

const reconstruct: GlobalHandler = {
  call: () => new NumpyArray(),
  // state: (version, shape, dtype, is_fortran, raw bytes or a list of objects)
  build: (obj, state) => {
    const [, shape, dtype, fortran, raw] = state as [number, number[], unknown, boolean, unknown];
    const array = obj as NumpyArray;
    const d = dtypeOf(dtype);
    array.shape = [...shape];
    array.dtype = `${d.byteOrder}${d.descr}`;
    array.fortranOrder = fortran;
    array.data = raw instanceof Uint8Array ? raw : typeof raw === "string" ? latin1Bytes(raw) : null;
  },
};

const dtype: GlobalHandler = {
  call: ([descr]) => ({ descr: String(descr), byteOrder: "|" }) satisfies NumpyDtype,
  // state: (version, byte order, subdtype, names, fields, elsize, alignment, flags)
  build: (obj, state) => {
    const order = (state as unknown[])[1];
    if (typeof order === "string") (obj as NumpyDtype).byteOrder = order;
  },
};

// numpy scalars (e.g. numpy.bool_ in an issame list) pickle as scalar(dtype, raw bytes)
const scalar: GlobalHandler = {
  call: ([d, raw]) => {
    const array = new NumpyArray();
    const parsed = dtypeOf(d);
    array.dtype = `${parsed.byteOrder}${parsed.descr}`;
    array.data = raw instanceof Uint8Array ? raw : typeof raw === "string" ? latin1Bytes(raw) : null;
    return array;
  },
};

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** numpy 1.x and 2.x spell the module differently. */
export const numpyGlobals: Readonly<Record<string, GlobalHandler>> = {
  "numpy.ndarray": {},
  "numpy.dtype": dtype,
  "numpy.core.multiarray._reconstruct": reconstruct,
  "numpy._core.multiarray._reconstruct": reconstruct,
  "numpy.core.multiarray.scalar": scalar,
  "numpy._core.multiarray.scalar": scalar,
};
