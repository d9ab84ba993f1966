// The .idx of a RecordIO pack: `key<TAB>byte_offset` lines, held as typed arrays on shared memory (8 bytes per
// key and per offset, in file order) so that loader workers use them without copies.
import { closeSync, openSync, readSync } from "node:fs";
import { DataError, SkipCounter, CorruptRecordError, type CorruptPolicy } from "../errors.js";

/** What a RecordIndex holds, in structured-clonable form (the arrays sit on SharedArrayBuffers). */
export interface RecordIndexData {
  keys: Float64Array;
  offsets: Float64Array;
  /** Positions in key order, or null when the file lists its keys in ascending order already. */
  byKey: Uint32Array | null;
}

export class RecordIndex {
  readonly data: RecordIndexData;

  constructor(data: RecordIndexData) {
    this.data = data;
  }

  /** Reads and checks `idxPath` against the size of the .rec it indexes. */
  static read(idxPath: string, recPath: string, recSize: number, policy: CorruptPolicy = {}): RecordIndex {
    const skips = new SkipCounter(policy);
    let keys: Float64Array = new Float64Array(1024);
    let offsets: Float64Array = new Float64Array(1024);
    let n = 0;
    forEachLine(idxPath, (line, lineNo) => {
      const fields = line.trim().split(/\s+/);
      if (fields.length === 1 && fields[0] === "") return;
      const [key, offset] = fields.map(Number);
      if (fields.length !== 2 || !isIndex(key) || !isIndex(offset)) {
        throw new DataError(
          `${idxPath}: line ${lineNo} is ${JSON.stringify(line.slice(0, 80))}, expected "key<TAB>byte_offset" ` +
            "with non-negative integers: this is not a RecordIO .idx file; rebuild it from the .rec",
        );
      }
      const problem =
        offset % 4 !== 0
          ? "is not a multiple of 4, so no record can start there"
          : offset + 8 > recSize
            ? `is past the end of ${recPath} (${recSize} bytes)`
            : null;
      if (problem !== null) {
        skips.skip(
          new CorruptRecordError(
            `${idxPath}: line ${lineNo}: the offset ${offset} of key ${key} ${problem}: the .rec is truncated or ` +
              "the .idx belongs to another file; re-copy the pack or rebuild the .idx (skipCorrupt drops such keys)",
          ),
        );
        return;
      }
      if (n === keys.length) {
        keys = grow(keys);
        offsets = grow(offsets);
      }
      keys[n] = key!;
      offsets[n] = offset!;
      n++;
    });
    if (n === 0) throw new DataError(`${idxPath}: the index lists no records; rebuild it from the .rec`);
    const data = { keys: shared(keys, n), offsets: shared(offsets, n), byKey: sortByKey(keys, n) };
    const byKey = data.byKey;
    for (let i = 1; i < n; i++) {
      const [a, b] = byKey === null ? [i - 1, i] : [byKey[i - 1]!, byKey[i]!];
      if (data.keys[a] === data.keys[b]) {
        throw new DataError(
          `${idxPath}: key ${data.keys[a]} is listed twice, so its record is ambiguous; rebuild the .idx from the .rec`,
        );
      }
    }
    return new RecordIndex(data);
  }

  get length(): number {
    return this.data.keys.length;
  }

  key(position: number): number {
    return this.data.keys[position]!;
  }

  offset(position: number): number {
    return this.data.offsets[position]!;
  }

  /** The position in file order of `key`, or -1 when the index does not list it. */
  positionOf(key: number): number {
    const { keys, byKey } = this.data;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const position = byKey === null ? mid : byKey[mid]!;
      const k = keys[position]!;
      if (k === key) return position;
      if (k < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

function isIndex(v: number | undefined): v is number {
  return v !== undefined && Number.isSafeInteger(v) && v >= 0;
}

function grow(a: Float64Array): Float64Array {
  const out = new Float64Array(a.length * 2);
  out.set(a);
  return out;
}

function shared(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * n));
  out.set(a.subarray(0, n));
  return out;
}

function sortByKey(keys: Float64Array, n: number): Uint32Array | null {
  let ascending = true;
  for (let i = 1; i < n && ascending; i++) ascending = keys[i - 1]! < keys[i]!;
  if (ascending) return null;
  const order = new Uint32Array(new SharedArrayBuffer(4 * n));
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => keys[a]! - keys[b]!);
  return order;
}

// Calls fn for each line of a text file, reading it in chunks (an .idx of millions of records is tens of MB).
function forEachLine(path: string, fn: (line: string, lineNo: number) => void): void {
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.alloc(1 << 20);
    let carry = "";
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const text = carry + chunk.toString("latin1", 0, n);
      const lines = text.split("\n");
      carry = lines.pop()!;
      for (const line of lines) fn(line, ++lineNo);
    }
    if (carry !== "") fn(carry, ++lineNo);
  } finally {
    closeSync(fd);
  }
}
