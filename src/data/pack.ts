// Packing a user's images (a labeled or unlabeled folder, a list file, any dataset) into an insightface
// RecordIO pack. Every image is decoded once to prove it is readable and to check its size; JPEG and PNG
// images of the right size are stored as they are, others are resized and re-encoded as JPEG.
import { decodeImage, encodeJpeg } from "./codec.js";
import { DataError, SkipCounter, type CorruptPolicy } from "./errors.js";
import { openDataset, type OpenOptions } from "./open.js";
import { RecWriter } from "./recordio/rec-writer.js";
import type { FaceSource } from "./source.js";

export interface PackOptions extends CorruptPolicy {
  /** Folders: labeled (one subfolder per identity) or not; default as openDataset decides. */
  labeled?: boolean;
  /** [height, width] of the packed images; default: the first image's size. */
  imageSize?: [number, number];
  /** JPEG quality for images that are re-encoded (default 95). */
  quality?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PackSummary {
  images: number;
  numClasses: number | null;
  imageSize: [number, number];
  /** Images stored re-encoded (resized, or not JPEG/PNG). */
  reencoded: number;
  skipped: number;
}

const CHUNK = 64;

/** Packs the dataset at `inputPath` (folder, list file, .rec, .bin) into `recPath` (+ .idx, property). */
export async function packFolder(inputPath: string, recPath: string, options: PackOptions = {}): Promise<PackSummary> {
  const openOptions: OpenOptions = { ...options };
  const source = openDataset(inputPath, openOptions);
  try {
    return await packDataset(source, recPath, options);
  } finally {
    source.close();
  }
}

export async function packDataset(
  source: FaceSource,
  recPath: string,
  options: PackOptions = {},
): Promise<PackSummary> {
  const skips = new SkipCounter(options);
  const labeled = source.numClasses !== null;
  const labels = source.labels();
  // the header layout stores each identity's images together in label order; a source whose labels are only
  // in its records (a .rec) keeps its order in the idx-only layout
  const layout = labeled && labels !== null ? "header" : "idx-only";
  const order = Array.from({ length: source.length }, (_, i) => i);
  if (labels !== null) order.sort((a, b) => labels[a]! - labels[b]! || a - b);
  const declared = options.imageSize ?? source.imageSize;
  let size: [number, number] | null = declared ? [declared[0], declared[1]] : null;
  let writer: RecWriter | null = null;
  let reencoded = 0;
  try {
    for (let start = 0; start < order.length; start += CHUNK) {
      const chunk = order.slice(start, start + CHUNK);
      const prepared = await Promise.all(
        chunk.map(async (position) => {
          try {
            const sample = source.read(position);
            const what = typeof sample.key === "string" ? sample.key : `${source.name}: record key ${sample.key}`;
            const image = await decodeImage(sample.image, { what });
            return { sample, image };
          } catch (error) {
            skips.skip(error);
            return null;
          }
        }),
      );
      for (const item of prepared) {
        if (item === null) continue;
        size ??= [item.image.height, item.image.width];
        writer ??= new RecWriter(recPath, { layout, imageSize: size });
        const fits = item.image.height === size[0] && item.image.width === size[1];
        let bytes = item.sample.image;
        if (!fits || !isJpegOrPng(bytes)) {
          const resized = fits ? item.image : await decodeImage(bytes, { size, what: String(item.sample.key) });
          bytes = await encodeJpeg(resized, options.quality ?? 95);
          reencoded++;
        }
        writer.add(bytes, labeled ? item.sample.label : -1);
      }
      options.onProgress?.(Math.min(start + CHUNK, order.length), order.length);
    }
    if (writer === null) throw new DataError(`${source.name}: no readable image to pack`);
    const { images, numClasses } = writer.close();
    return { images, numClasses, imageSize: size!, reencoded, skipped: skips.skipped };
  } catch (error) {
    writer?.abort();
    throw error;
  }
}

function isJpegOrPng(bytes: Uint8Array): boolean {
  const jpeg = bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  const png = bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  return jpeg || png;
}
