// The shape every readable dataset takes: random access to encoded face images and their labels.
import type { RecordIndexData } from "./recordio/record-index.js";

/** One image of a dataset, still encoded (JPEG/PNG). */
export interface FaceSample {
  /** The record key (RecordIO), file path (folders) or pair slot (verification packs): names it in messages. */
  key: number | string;
  /** The identity, 0..numClasses-1, or -1 for unlabeled data. */
  label: number;
  image: Uint8Array;
}

export interface FaceSource {
  /** The file or folder it reads, for messages. */
  readonly name: string;
  readonly length: number;
  /** The number of identities; null for unlabeled data (or a pack that does not say). */
  readonly numClasses: number | null;
  /** The image size [height, width] the dataset declares (a RecordIO `property`), or null. */
  readonly imageSize: readonly [number, number] | null;
  /** Every label in position order when known without reading the records (folders, lists), else null. */
  labels(): ArrayLike<number> | null;
  /** The sample at `position` (0..length-1). Throws CorruptRecordError for a bad record. */
  read(position: number): FaceSample;
  /** A structured-clonable description from which openSource() rebuilds this source in a worker thread. */
  spec(): SourceSpec;
  close(): void;
}

export interface RecSpec {
  kind: "rec";
  recPath: string;
  index: RecordIndexData;
  /** insightface header layout: images are keys 1..imageEnd-1; null for the idx-only layout. */
  imageEnd: number | null;
  /** Identity ranges [start, end) of image keys per class (header layout), on shared memory. */
  identities: { starts: Float64Array; ends: Float64Array } | null;
  numClasses: number | null;
  imageSize: [number, number] | null;
}

export interface FilesSpec {
  kind: "files";
  name: string;
  paths: string[];
  labels: Int32Array;
  numClasses: number | null;
}

export interface MemorySpec {
  kind: "memory";
  name: string;
  images: Uint8Array[];
  labels: Int32Array;
  numClasses: number | null;
}

export type SourceSpec = RecSpec | FilesSpec | MemorySpec;
