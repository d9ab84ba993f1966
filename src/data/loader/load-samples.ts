// Reads and decodes the samples of one batch into packed pixels, in a worker thread or in the main thread.
import { decodeImage, decodeJpegSync } from "../codec.js";
import { CorruptRecordError, errorMessage } from "../errors.js";
import type { FaceSource } from "../source.js";

export interface SampleRequest {
  positions: Uint32Array;
  flips: Uint8Array;
}

/** How a loader turns records into pixels; the same in every thread. */
export interface DecodeSettings {
  /** [height, width] of the decoded images. */
  size: [number, number];
  /** Leave corrupt records out (reported in `skipped`) instead of failing the batch. */
  skipCorrupt: boolean;
  /** Decode everything with libjpeg's strict checks (decodeImage) instead of the fast JPEG decoder. */
  strictDecode: boolean;
}

export interface LoadedSamples {
  /** count x height x width x 3 bytes (NHWC). */
  pixels: Uint8Array;
  labels: Int32Array;
  /** The dataset positions of the samples kept (a skipped corrupt record leaves its position out). */
  positions: Int32Array;
  /** 1 where the image is to be mirrored (done on the batch tensor). */
  flips: Uint8Array;
  count: number;
  /** Messages of the corrupt records left out (only when skipping). */
  skipped: string[];
}

export async function loadSamples(
  source: FaceSource,
  request: SampleRequest,
  { size, skipCorrupt, strictDecode }: DecodeSettings,
): Promise<LoadedSamples> {
  const frame = size[0] * size[1] * 3;
  const n = request.positions.length;
  const declaredSize = source.imageSize;
  // decodeJpegSync misses damaged scan data (strictDecode); a declared size other than `size` needs decodeImage's
  // check and resize
  const fast = !strictDecode && (declaredSize === null || (declaredSize[0] === size[0] && declaredSize[1] === size[1]));
  const results = await Promise.all(
    Array.from(request.positions, async (position, i) => {
      try {
        const sample = source.read(position);
        const what = typeof sample.key === "string" ? sample.key : `${source.name}: record key ${sample.key}`;
        const image =
          (fast ? decodeJpegSync(sample.image, size, what) : null) ??
          (await decodeImage(sample.image, { size, declaredSize, what }));
        return { label: sample.label, pixels: image.pixels, flip: request.flips[i]! };
      } catch (error) {
        if (skipCorrupt && error instanceof CorruptRecordError) return errorMessage(error);
        throw error;
      }
    }),
  );
  const pixels = new Uint8Array(n * frame);
  const labels = new Int32Array(n);
  const positions = new Int32Array(n);
  const flips = new Uint8Array(n);
  const skipped: string[] = [];
  let count = 0;
  for (const [i, result] of results.entries()) {
    if (typeof result === "string") {
      skipped.push(result);
      continue;
    }
    pixels.set(result.pixels, count * frame);
    positions[count] = request.positions[i]!;
    flips[count] = result.flip;
    labels[count++] = result.label;
  }
  return {
    pixels: pixels.subarray(0, count * frame),
    labels: labels.subarray(0, count),
    positions: positions.subarray(0, count),
    flips: flips.subarray(0, count),
    count,
    skipped,
  };
}
