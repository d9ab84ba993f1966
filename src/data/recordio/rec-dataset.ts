// An insightface RecordIO pack (train.rec + train.idx + property) as a FaceSource.
//
// Two layouts exist. The header layout (MS1MV2 and older) has a record 0 with flag 2 and labels [imageEnd,
// identityEnd]: images are keys 1..imageEnd-1, and keys imageEnd..identityEnd-1 describe class c = key - imageEnd
// with the image keys [start, end) it owns. Newer packs have no record 0: every key of the .idx is an image.
// Labels come from each image's own IRHeader (the first of its label vector when flag > 0) and are checked
// against the class count and, in the header layout, against the identity ranges.
import { existsSync } from "node:fs";
import { jpegSize } from "../codec.js";
import { CorruptRecordError, DataError, type CorruptPolicy } from "../errors.js";
import type { FaceSample, FaceSource, RecSpec } from "../source.js";
import { unpackPayload, type IRHeader } from "./format.js";
import { propertyPathFor, readProperty } from "./property.js";
import { RecordFile } from "./record-file.js";
import { RecordIndex } from "./record-index.js";

export interface RecOpenOptions extends CorruptPolicy {
  /** Default: the .rec path with the extension .idx. */
  idxPath?: string;
  /** Default: `property` in the .rec's folder (optional). */
  propertyPath?: string;
}

export class RecDataset implements FaceSource {
  readonly name: string;
  readonly layout: "header" | "idx-only";
  readonly #spec: RecSpec;
  readonly #index: RecordIndex;
  readonly #file: RecordFile;

  private constructor(spec: RecSpec, file: RecordFile) {
    this.#spec = spec;
    this.#index = new RecordIndex(spec.index);
    this.#file = file;
    this.name = spec.recPath;
    this.layout = spec.imageEnd === null ? "idx-only" : "header";
  }

  static open(recPath: string, options: RecOpenOptions = {}): RecDataset {
    const idxPath = options.idxPath ?? recPath.replace(/\.rec$/, "") + ".idx";
    for (const [path, what] of [
      [recPath, "RecordIO file"],
      [idxPath, "RecordIO index (.idx) beside it"],
    ] as const) {
      if (!existsSync(path))
        throw new DataError(`${path}: no such ${what}; check the path (packs come as .rec + .idx)`);
    }
    const file = new RecordFile(recPath);
    try {
      const index = RecordIndex.read(idxPath, recPath, file.size, options);
      const propertyPath = options.propertyPath ?? propertyPathFor(recPath);
      const property = readProperty(propertyPath);
      const spec: RecSpec = {
        kind: "rec",
        recPath,
        index: index.data,
        imageEnd: null,
        identities: null,
        numClasses: property?.numClasses ?? null,
        imageSize: property?.imageSize ?? null,
      };
      const layout = readHeaderRecord(file, index);
      if (layout !== null) {
        spec.imageEnd = layout.imageEnd;
        spec.identities = readIdentities(file, index, layout.imageEnd, layout.identityEnd);
        const numClasses = layout.identityEnd - layout.imageEnd;
        if (property !== null && property.numClasses !== numClasses) {
          throw new DataError(
            `${propertyPath} says ${property.numClasses} identities, but ${recPath} holds ${numClasses} identity ` +
              "records: the property file belongs to another pack; fix its first number or delete it",
          );
        }
        spec.numClasses = numClasses;
      }
      const dataset = new RecDataset(spec, file);
      if (property !== null) dataset.#checkImageSize(propertyPath);
      return dataset;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Reopens a dataset described by spec() (in a worker thread), without reading the .idx again. */
  static fromSpec(spec: RecSpec): RecDataset {
    return new RecDataset(spec, new RecordFile(spec.recPath));
  }

  get length(): number {
    return this.#spec.imageEnd === null ? this.#index.length : this.#spec.imageEnd - 1;
  }
  get numClasses(): number | null {
    return this.#spec.numClasses;
  }
  get imageSize(): readonly [number, number] | null {
    return this.#spec.imageSize;
  }
  /** Image key ranges [start, end) per class (header layout), or null. */
  get identities(): { starts: Float64Array; ends: Float64Array } | null {
    return this.#spec.identities;
  }

  /** The record key of the image at `position`. */
  keyAt(position: number): number {
    if (!Number.isInteger(position) || position < 0 || position >= this.length) {
      throw new RangeError(`${this.name}: position ${position} is outside 0..${this.length - 1}`);
    }
    return this.#spec.imageEnd === null ? this.#index.key(position) : position + 1;
  }

  /** The IRHeader and image bytes of the record with `key`. */
  readRecord(key: number): { header: IRHeader; image: Uint8Array } {
    const position = this.#index.positionOf(key);
    if (position < 0) {
      throw new CorruptRecordError(
        `${this.#spec.recPath}: key ${key} is not in the .idx (dropped as corrupt, or the .idx is incomplete); ` +
          "rebuild the .idx from the .rec",
      );
    }
    const offset = this.#index.offset(position);
    const unpacked = unpackPayload(this.#file.read(offset, `key ${key}`));
    if (typeof unpacked === "string") {
      throw new CorruptRecordError(`${this.#spec.recPath}: record key ${key} at byte ${offset}: ${unpacked}`);
    }
    return unpacked;
  }

  read(position: number): FaceSample {
    const key = this.keyAt(position);
    const { header, image } = this.readRecord(key);
    const label = header.flag > 0 ? header.labels[0]! : header.label;
    const where = `${this.#spec.recPath}: record key ${key}`;
    if (image.length === 0) {
      throw new CorruptRecordError(`${where} holds no image bytes after its IRHeader; the pack is corrupt`);
    }
    this.#checkLabel(label, key, where);
    return { key, label, image };
  }

  /** Labels live in each record's header: null (read() returns them). */
  labels(): null {
    return null;
  }

  spec(): RecSpec {
    return this.#spec;
  }

  close(): void {
    this.#file.close();
  }

  // The property's image size against the first image's JPEG header: a damaged or foreign property file is named
  // here, not by every image at decode time. A first record too damaged to read is left to the reads.
  #checkImageSize(propertyPath: string): void {
    const declared = this.#spec.imageSize;
    if (declared === null || this.length === 0) return;
    let image: Uint8Array;
    try {
      image = this.readRecord(this.keyAt(0)).image;
    } catch (error) {
      if (error instanceof CorruptRecordError) return;
      throw error;
    }
    const found = jpegSize(image);
    if (found !== null && (found[0] !== declared[0] || found[1] !== declared[1])) {
      throw new DataError(
        `${propertyPath} says the images are ${declared[0]}x${declared[1]}, but the first image of ` +
          `${this.#spec.recPath} (key ${this.keyAt(0)}) is ${found[0]}x${found[1]}: the property file is damaged or ` +
          "belongs to another pack; fix its last two numbers (height,width) or delete it",
      );
    }
  }

  #checkLabel(label: number, key: number, where: string): void {
    const { numClasses, identities } = this.#spec;
    if (numClasses === null) return;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new CorruptRecordError(
        `${where} has label ${label}, outside the ${numClasses} identities 0..${numClasses - 1} that the pack ` +
          "declares: the property file or the record is wrong; fix the pack (skipCorrupt skips such records)",
      );
    }
    if (identities !== null) {
      const start = identities.starts[label]!;
      const end = identities.ends[label]!;
      if (key < start || key >= end) {
        throw new CorruptRecordError(
          `${where} has label ${label}, but the identity record of class ${label} owns keys ${start}..${end - 1}: ` +
            "the pack is inconsistent; rebuild it (skipCorrupt skips such records)",
        );
      }
    }
  }
}

// The header record (key 0, flag 2, labels [imageEnd, identityEnd], no image), or null for the idx-only layout.
function readHeaderRecord(file: RecordFile, index: RecordIndex): { imageEnd: number; identityEnd: number } | null {
  const position = index.positionOf(0);
  if (position < 0) return null;
  const offset = index.offset(position);
  const unpacked = unpackPayload(file.read(offset, "key 0"));
  if (typeof unpacked === "string" || unpacked.header.flag !== 2 || unpacked.image.length !== 0) return null;
  const [imageEnd, identityEnd] = unpacked.header.labels as unknown as [number, number];
  if (!Number.isSafeInteger(imageEnd) || !Number.isSafeInteger(identityEnd) || imageEnd < 1 || identityEnd < imageEnd) {
    throw new DataError(
      `${file.path}: the header record (key 0) says images end at ${imageEnd} and identities at ${identityEnd}, ` +
        "which is impossible: the pack is corrupt; rebuild it",
    );
  }
  return { imageEnd, identityEnd };
}

function readIdentities(
  file: RecordFile,
  index: RecordIndex,
  imageEnd: number,
  identityEnd: number,
): { starts: Float64Array; ends: Float64Array } {
  const n = identityEnd - imageEnd;
  // filled as the records are found: a damaged identityEnd fails at its first missing record, before any allocation
  const starts: number[] = [];
  const ends: number[] = [];
  for (let c = 0; c < n; c++) {
    const key = imageEnd + c;
    const position = index.positionOf(key);
    const fail = (problem: string): never => {
      throw new DataError(
        `${file.path}: identity record key ${key} (class ${c}) ${problem}; the pack is corrupt or incomplete: ` +
          "rebuild it, or re-copy its .rec and .idx",
      );
    };
    if (position < 0) fail("is missing from the .idx");
    const unpacked = unpackPayload(file.read(index.offset(position), `key ${key}`));
    if (typeof unpacked === "string") fail(unpacked);
    const { header } = unpacked as { header: IRHeader };
    const [start, end] = header.labels as unknown as [number, number];
    if (header.flag !== 2 || !(Number.isInteger(start) && Number.isInteger(end) && 1 <= start && start <= end)) {
      fail(`should hold flag 2 and the range [start, end) of its image keys, found flag ${header.flag}`);
    }
    if (end > imageEnd) fail(`claims image keys ${start}..${end - 1}, past the last image key ${imageEnd - 1}`);
    starts.push(start);
    ends.push(end);
  }
  return { starts: shared(starts), ends: shared(ends) };
}

function shared(values: number[]): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(8 * values.length));
  out.set(values);
  return out;
}
