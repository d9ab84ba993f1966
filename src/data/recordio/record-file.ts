// Random-access reads of RecordIO records from a .rec file, re-joining split records.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { CorruptRecordError } from "../errors.js";
import { align4, CFLAG_FIRST, CFLAG_LAST, CFLAG_MIDDLE, CFLAG_WHOLE, MAGIC } from "./format.js";

const MAGIC_BYTES = new Uint8Array([0x0a, 0x23, 0xd7, 0xce]); // MAGIC, little-endian
const CFLAG_NAMES = ["whole", "first part", "middle part", "last part"];

export class RecordFile {
  readonly path: string;
  readonly size: number;
  #fd: number | null;
  readonly #head = new Uint8Array(8);
  readonly #headView = new DataView(this.#head.buffer);
  readonly #tail = new Uint8Array(7);

  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, "r");
    this.size = fstatSync(this.#fd).size;
  }

  /** The payload of the record at `offset` (split parts re-joined). `what` names it in errors ("key 7"). */
  read(offset: number, what: string): Uint8Array {
    const parts: Uint8Array[] = [];
    let at = offset;
    for (;;) {
      const [cflag, length] = this.#readHead(at, offset, what, parts.length);
      const payload = this.#readExactly(at + 8, length, offset, what);
      parts.push(payload);
      if (cflag === CFLAG_WHOLE || cflag === CFLAG_LAST) {
        this.#checkEnd(at + 8 + length, offset, what);
        break;
      }
      at += 8 + align4(length);
    }
    return parts.length === 1 ? parts[0]! : joinParts(parts);
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
  }

  #fail(offset: number, what: string, problem: string, fix: string): never {
    throw new CorruptRecordError(`${this.path}: record ${what} at byte ${offset}: ${problem}; ${fix}`);
  }

  #readHead(at: number, offset: number, what: string, partIndex: number): [cflag: number, length: number] {
    if (this.#read(this.#head, at) < 8) {
      this.#fail(
        offset,
        what,
        `the file ends at byte ${this.size}, before the record header at byte ${at}`,
        "the .rec is truncated (an interrupted copy?) or the .idx belongs to another file: re-copy the pack",
      );
    }
    const magic = this.#headView.getUint32(0, true);
    if (magic !== MAGIC) {
      this.#fail(
        offset,
        what,
        `expected the RecordIO magic 0x${MAGIC.toString(16)} at byte ${at}, found 0x${magic.toString(16).padStart(8, "0")}`,
        "this is not a RecordIO file, or the .idx belongs to another .rec: rebuild the .idx or re-copy the pack",
      );
    }
    const lrec = this.#headView.getUint32(4, true);
    const cflag = lrec >>> 29;
    const expected = partIndex === 0 ? [CFLAG_WHOLE, CFLAG_FIRST] : [CFLAG_MIDDLE, CFLAG_LAST];
    if (!expected.includes(cflag)) {
      this.#fail(
        offset,
        what,
        `part ${partIndex} at byte ${at} has cflag ${cflag} (${CFLAG_NAMES[cflag] ?? "invalid"}), ` +
          `expected ${expected.map((c) => `${c} (${CFLAG_NAMES[c]})`).join(" or ")}`,
        "the .idx points into the middle of a split record, or the file is corrupt: rebuild the .idx",
      );
    }
    return [cflag, lrec & 0x1fffffff];
  }

  #readExactly(at: number, length: number, offset: number, what: string): Uint8Array {
    if (at + length > this.size) {
      this.#fail(
        offset,
        what,
        `its payload needs bytes ${at}..${at + length} but the file ends at byte ${this.size}`,
        "the .rec is truncated (an interrupted copy?): re-copy it, or pass skipCorrupt to skip such records",
      );
    }
    const out = new Uint8Array(length);
    this.#read(out, at);
    return out;
  }

  // Records follow each other without gaps: the zero padding to a multiple of 4, then the next record's magic or
  // the end of the file. RecordIO has no checksum; this catches a damaged length, which would cut or extend the
  // image without a word.
  #checkEnd(end: number, offset: number, what: string): void {
    const next = align4(end);
    const tail = this.#tail.subarray(0, Math.min(next + 4, this.size) - end);
    this.#read(tail, end);
    const padding = tail.subarray(0, next - end);
    const magic = tail.subarray(next - end);
    if (padding.some((b) => b !== 0) || !(next === this.size || MAGIC_BYTES.every((b, i) => magic[i] === b))) {
      this.#fail(
        offset,
        what,
        `its payload ends at byte ${end}, where neither zero padding and another record nor the end of the file ` +
          "follows: its length field is damaged, or the .idx points into another record",
        "re-copy the pack or rebuild the .idx (skipCorrupt skips such records)",
      );
    }
  }

  #read(into: Uint8Array, position: number): number {
    if (this.#fd === null) throw new Error(`${this.path}: the record file was closed`);
    let done = 0;
    while (done < into.length) {
      const n = readSync(this.#fd, into, done, into.length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
}

function joinParts(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0) + 4 * (parts.length - 1);
  const out = new Uint8Array(total);
  let at = 0;
  parts.forEach((part, i) => {
    if (i > 0) {
      out.set(MAGIC_BYTES, at);
      at += 4;
    }
    out.set(part, at);
    at += part.length;
  });
  return out;
}
