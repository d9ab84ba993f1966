// Element types and memory formats, with the codes libtorch uses for them.

export type DType =
  "float32" | "float16" | "bfloat16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool";
export type MemoryFormat = "contiguous" | "channels_last" | "preserve";

// c10::ScalarType values
const DTYPE_CODES: Record<DType, number> = {
  uint8: 0,
  int8: 1,
  int16: 2,
  int32: 3,
  int64: 4,
  float16: 5,
  float32: 6,
  float64: 7,
  bool: 11,
  bfloat16: 15,
};
const DTYPE_BY_CODE = new Map<number, DType>(Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as DType]));

// c10::MemoryFormat values
const MEMORY_FORMAT_CODES: Record<MemoryFormat, number> = { contiguous: 0, preserve: 1, channels_last: 2 };

export const DTYPES = Object.keys(DTYPE_CODES) as DType[];

export function dtypeCode(dtype: DType): number {
  const code = DTYPE_CODES[dtype];
  if (code === undefined)
    throw new TypeError(`unknown dtype '${String(dtype)}' (expected one of ${DTYPES.join(", ")})`);
  return code;
}

export function dtypeFromCode(code: number): DType {
  const dtype = DTYPE_BY_CODE.get(code);
  if (dtype === undefined) throw new TypeError(`libtorch dtype code ${code} has no facekd name`);
  return dtype;
}

export function memoryFormatCode(format: MemoryFormat): number {
  const code = MEMORY_FORMAT_CODES[format];
  if (code === undefined) throw new TypeError(`unknown memory format '${String(format)}'`);
  return code;
}

/** The typed array that holds each dtype's elements when read back (float16/bfloat16 as raw 16-bit words). */
export type TypedArrayFor<D extends DType> = D extends "float32"
  ? Float32Array
  : D extends "float64"
    ? Float64Array
    : D extends "int64"
      ? BigInt64Array
      : D extends "int32"
        ? Int32Array
        : D extends "int16"
          ? Int16Array
          : D extends "int8"
            ? Int8Array
            : D extends "float16" | "bfloat16"
              ? Uint16Array
              : Uint8Array;

export type AnyTypedArray =
  Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint16Array | Uint8Array;

export function typedArrayFromBytes(dtype: DType, bytes: ArrayBuffer): AnyTypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(bytes);
    case "float64":
      return new Float64Array(bytes);
    case "int64":
      return new BigInt64Array(bytes);
    case "int32":
      return new Int32Array(bytes);
    case "int16":
      return new Int16Array(bytes);
    case "int8":
      return new Int8Array(bytes);
    case "float16":
    case "bfloat16":
      return new Uint16Array(bytes);
    case "uint8":
    case "bool":
      return new Uint8Array(bytes);
  }
}

/** The dtype a typed array's elements are stored as when a tensor is made from it. */
export function dtypeOfTypedArray(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Int16Array) return "int16";
  if (data instanceof Int8Array) return "int8";
  if (data instanceof Uint8Array) return "uint8";
  throw new TypeError("Uint16Array data is ambiguous: pass dtype 'float16' or 'bfloat16'");
}

export function isFloatingDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16" || dtype === "bfloat16";
}

export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};
