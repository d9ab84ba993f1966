// Writes insightface RecordIO packs (.rec + .idx + property) in either layout, byte-compatible with MXNet's
// writer (ids = keys, id2 = 0, records split at 4-aligned magic). Files are written under temporary names and
// renamed on close, so an interrupted pack never looks complete.
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { DataError } from "../errors.js";
import { frameRecord, packPayload } from "./format.js";
import { propertyPathFor, writeProperty } from "./property.js";

export interface RecWriterOptions {
  /**
   * "header" (default): insightface's layout with record 0 and identity records; images must come grouped by
   * label 0, 1, 2, ... "idx-only": images are keys 0..N-1, any labels (-1 for unlabeled data).
   */
  layout?: "header" | "idx-only";
  /** [height, width] of the images: when given and the pack is labeled, a `property` file is written. */
  imageSize?: [number, number];
  /** Default: the .rec path with the extension .idx. */
  idxPath?: string;
  /**
   * The identities the property file declares (idx-only layout): some of them may have no image. Default: the
   * largest label + 1.
   */
  numClasses?: number;
}

// float32 holds every integer up to 2^24 exactly; the header layout stores keys as float32 labels
const MAX_HEADER_KEY = 1 << 24;

export class RecWriter {
  readonly recPath: string;
  readonly idxPath: string;
  readonly #layout: "header" | "idx-only";
  readonly #imageSize: [number, number] | undefined;
  readonly #numClasses: number | undefined;
  readonly #rec: number;
  readonly #idx: number;
  #bytesWritten = 0;
  #nextKey: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #idxLines: string[] = [];
  // header layout: the first image key of each class
  readonly #classStarts: number[] = [];
  #minLabel = Infinity;
  #maxLabel = -Infinity;
  #closed = false;

  constructor(recPath: string, options: RecWriterOptions = {}) {
    this.recPath = recPath;
    this.idxPath = options.idxPath ?? recPath.replace(/\.rec$/, "") + ".idx";
    this.#layout = options.layout ?? "header";
    this.#imageSize = options.imageSize;
    this.#numClasses = options.numClasses;
    if (this.#numClasses !== undefined && this.#layout === "header") {
      throw new RangeError(
        `${recPath}: numClasses is for the idx-only layout (the header layout counts its identities)`,
      );
    }
    for (const file of [this.recPath, this.idxPath]) mkdirSync(path.dirname(file), { recursive: true });
    this.#rec = openSync(this.recPath + ".partial", "w");
    this.#idx = openSync(this.idxPath + ".partial", "w");
    // the header record has a fixed size (no magic can appear in it), so it is reserved now and filled on close
    this.#nextKey = 0;
    if (this.#layout === "header") this.#append(frameRecord(packPayload([0, 0], new Uint8Array(0), 0)));
  }

  /** Number of images added so far. */
  get count(): number {
    return this.#layout === "header" ? this.#nextKey - 1 : this.#nextKey;
  }

  /** Adds one encoded image with its label (or label vector, whose first entry is the class). Returns its key. */
  add(image: Uint8Array, label: number | readonly number[]): number {
    if (this.#closed) throw new Error(`${this.recPath}: add() after close()`);
    const cls = typeof label === "number" ? label : label[0];
    if (cls === undefined || !Number.isInteger(cls) || cls < -1) {
      throw new DataError(`${this.recPath}: image ${this.count}: label ${cls} is not a class index (or -1)`);
    }
    if (this.#layout === "header") this.#checkGrouped(cls);
    if (this.#numClasses !== undefined && cls >= this.#numClasses) {
      this.abort();
      throw new DataError(
        `${this.recPath}: image ${this.count}: label ${cls} is not below numClasses ${this.#numClasses}`,
      );
    }
    this.#minLabel = Math.min(this.#minLabel, cls);
    this.#maxLabel = Math.max(this.#maxLabel, cls);
    const key = this.#nextKey;
    this.#append(frameRecord(packPayload(label, image, key)));
    return key;
  }

  /** Finishes the pack: identity records and the header record (header layout), .idx, property. */
  close(): { images: number; numClasses: number | null } {
    if (this.#closed) throw new Error(`${this.recPath}: close() called twice`);
    const images = this.count;
    if (images === 0) {
      this.abort();
      throw new DataError(`${this.recPath}: no images were added, so no pack was written`);
    }
    const labeled = this.#minLabel >= 0;
    const numClasses = labeled ? (this.#numClasses ?? this.#maxLabel + 1) : null;
    if (this.#layout === "header") {
      const imageEnd = this.#nextKey;
      const starts = this.#classStarts;
      starts.forEach((start, c) => {
        const end = starts[c + 1] ?? imageEnd;
        this.#append(frameRecord(packPayload([start, end], new Uint8Array(0), this.#nextKey)));
      });
      if (this.#nextKey > MAX_HEADER_KEY) {
        this.abort();
        throw new DataError(`${this.recPath}: over 2^24 records do not fit the header layout; use layout "idx-only"`);
      }
      this.#flush();
      const header = frameRecord(packPayload([imageEnd, this.#nextKey], new Uint8Array(0), 0));
      writeSync(this.#rec, header, 0, header.length, 0);
    }
    this.#flush();
    closeSync(this.#rec);
    closeSync(this.#idx);
    this.#closed = true;
    renameSync(this.recPath + ".partial", this.recPath);
    renameSync(this.idxPath + ".partial", this.idxPath);
    if (numClasses !== null && this.#imageSize !== undefined) {
      writeProperty(propertyPathFor(this.recPath), { numClasses, imageSize: this.#imageSize });
    }
    return { images, numClasses };
  }

  /** Stops writing and removes the partial files. */
  abort(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#rec);
    closeSync(this.#idx);
    rmSync(this.recPath + ".partial", { force: true });
    rmSync(this.idxPath + ".partial", { force: true });
  }

  #checkGrouped(cls: number): void {
    const current = this.#classStarts.length - 1;
    if (cls === current) return;
    if (cls !== current + 1) {
      this.abort();
      throw new DataError(
        `${this.recPath}: image ${this.count} has label ${cls} after label ${current}: the header layout needs ` +
          'images grouped by label 0, 1, 2, ... in order (sort them by label, or use layout "idx-only")',
      );
    }
    this.#classStarts.push(this.#nextKey);
  }

  #append(framed: Uint8Array): void {
    this.#idxLines.push(`${this.#nextKey}\t${this.#bytesWritten + this.#pendingBytes}\n`);
    this.#nextKey++;
    this.#pending.push(framed);
    this.#pendingBytes += framed.length;
    if (this.#pendingBytes >= 1 << 22) this.#flush();
  }

  #flush(): void {
    const data = Buffer.concat(this.#pending);
    writeSync(this.#rec, data, 0, data.length, this.#bytesWritten);
    this.#bytesWritten += data.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    writeSync(this.#idx, this.#idxLines.join(""));
    this.#idxLines = [];
  }
}
