// Writes verification packs: pickle (bins, issame_list) in the style of Python 2 (protocol 2, str payloads, as
// the original insightface packs) or Python 3 (protocol 3/4, bytes payloads). Python's pickle reads both.
import { writeFileSync } from "node:fs";
import { DataError } from "../errors.js";

export interface WritePackOptions {
  /** 2: Python 2 style (BINSTRING); 3 or 4 (default): Python 3 style (BINBYTES). */
  protocol?: 2 | 3 | 4;
}

// pickle's batching of list items between MARK and APPENDS, as Python writes it
const BATCH = 1000;

export function writeVerificationPack(
  path: string,
  images: readonly Uint8Array[],
  issame: readonly boolean[],
  options: WritePackOptions = {},
): void {
  if (images.length !== 2 * issame.length) {
    throw new DataError(`${path}: ${images.length} images for ${issame.length} pairs; a pack needs two per pair`);
  }
  writeFileSync(path, picklePack(images, issame, options.protocol ?? 4));
}

function picklePack(images: readonly Uint8Array[], issame: readonly boolean[], protocol: number): Uint8Array {
  const chunks: Uint8Array[] = [Uint8Array.of(0x80, protocol)];
  const op = (...bytes: number[]): void => void chunks.push(Uint8Array.from(bytes));
  const list = <T>(items: readonly T[], put: (item: T) => void): void => {
    op(0x5d); // EMPTY_LIST
    for (let i = 0; i < items.length; i += BATCH) {
      op(0x28); // MARK
      items.slice(i, i + BATCH).forEach(put);
      op(0x65); // APPENDS
    }
  };
  list(images, (image) => {
    const n = image.length;
    if (n > 0xffffffff) throw new DataError("an image over 4 GiB cannot go into a verification pack");
    const short = n < 256;
    // SHORT_BINSTRING / BINSTRING (Python 2 str), SHORT_BINBYTES / BINBYTES (Python 3 bytes)
    const code = protocol === 2 ? (short ? 0x55 : 0x54) : short ? 0x43 : 0x42;
    op(code, ...(short ? [n] : [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]));
    chunks.push(image);
  });
  list(issame, (same) => op(same ? 0x88 : 0x89)); // NEWTRUE / NEWFALSE
  op(0x86, 0x2e); // TUPLE2, STOP
  return Buffer.concat(chunks);
}
