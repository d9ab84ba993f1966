// MXNet RecordIO framing and the IRHeader that insightface packs put in front of each image.
//
// A record: u32 magic, u32 lrec (cflag = lrec >>> 29, length = lrec & 0x1fffffff), payload, zero padding to a
// multiple of 4. A payload that holds the magic at a 4-aligned position is written as parts (cflag 1 = first,
// 2 = middle, 3 = last) cut at each such magic, which the reader puts back between the parts.

export const MAGIC = 0xced7230a;
export const MAX_PART_LENGTH = 0x1fffffff;
export const IRHEADER_BYTES = 24;

export const CFLAG_WHOLE = 0;
export const CFLAG_FIRST = 1;
export const CFLAG_MIDDLE = 2;
export const CFLAG_LAST = 3;

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** The framed bytes of one record, split where the payload holds the magic (as MXNet's writer does). */
export function frameRecord(payload: Uint8Array): Uint8Array {
  const cuts: number[] = [];
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  for (let i = 0; i + 4 <= payload.length; i += 4) if (view.getUint32(i, true) === MAGIC) cuts.push(i);
  const parts: [cflag: number, start: number, end: number][] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push([parts.length === 0 ? CFLAG_FIRST : CFLAG_MIDDLE, start, cut]);
    start = cut + 4;
  }
  parts.push([parts.length === 0 ? CFLAG_WHOLE : CFLAG_LAST, start, payload.length]);

  const total = parts.reduce((n, [, s, e]) => n + 8 + align4(e - s), 0);
  const out = new Uint8Array(total);
  const outView = new DataView(out.buffer);
  let at = 0;
  for (const [cflag, s, e] of parts) {
    if (e - s > MAX_PART_LENGTH) throw new RangeError(`a RecordIO record part holds at most ${MAX_PART_LENGTH} bytes`);
    outView.setUint32(at, MAGIC, true);
    outView.setUint32(at + 4, ((cflag << 29) | (e - s)) >>> 0, true);
    out.set(payload.subarray(s, e), at + 8);
    at += 8 + align4(e - s);
  }
  return out;
}

/** The IRHeader of an insightface record: a scalar label, or (flag > 0) a vector of `flag` float32 labels. */
export interface IRHeader {
  flag: number;
  label: number;
  id: bigint;
  id2: bigint;
  /** The label vector that follows the header when flag > 0 (empty otherwise). */
  labels: Float32Array;
}

/** Packs an IRHeader (label vector when given, scalar label otherwise) and the image into one payload. */
export function packPayload(
  label: number | readonly number[],
  image: Uint8Array,
  id: number | bigint = 0,
  id2: number | bigint = 0,
): Uint8Array {
  const vector = typeof label === "number" ? [] : label;
  const out = new Uint8Array(IRHEADER_BYTES + 4 * vector.length + image.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, vector.length, true);
  view.setFloat32(4, typeof label === "number" ? label : 0, true);
  view.setBigUint64(8, BigInt(id), true);
  view.setBigUint64(16, BigInt(id2), true);
  vector.forEach((v, i) => view.setFloat32(IRHEADER_BYTES + 4 * i, v, true));
  out.set(image, IRHEADER_BYTES + 4 * vector.length);
  return out;
}

/**
 * Splits a payload into its IRHeader and image bytes (a view). Returns a string saying what is wrong when the
 * payload is too short for its header.
 */
export function unpackPayload(payload: Uint8Array): { header: IRHeader; image: Uint8Array } | string {
  if (payload.length < IRHEADER_BYTES) {
    return `the payload has ${payload.length} bytes, fewer than the 24 of an IRHeader`;
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const flag = view.getUint32(0, true);
  const labelsEnd = IRHEADER_BYTES + 4 * flag;
  if (labelsEnd > payload.length) {
    return `the IRHeader announces ${flag} labels, which need ${labelsEnd} bytes, but the payload has ${payload.length}`;
  }
  const labels = new Float32Array(flag);
  for (let i = 0; i < flag; i++) labels[i] = view.getFloat32(IRHEADER_BYTES + 4 * i, true);
  return {
    header: {
      flag,
      label: view.getFloat32(4, true),
      id: view.getBigUint64(8, true),
      id2: view.getBigUint64(16, true),
      labels,
    },
    image: payload.subarray(labelsEnd),
  };
}
