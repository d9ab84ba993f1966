// Image decoding, encoding and resizing: JPEG/PNG/WebP in, RGB pixels (HWC, uint8) out. sharp (libvips) does
// everything; the loader's hot path, complete 3-channel JPEGs, goes through @napi-rs/image's synchronous decoder,
// measured at 0.15-0.35 ms of CPU per 112x112 JPEG against sharp's 1.2-1.6 ms (whose per-call pipeline set-up
// dominates at this size).
import { Transformer } from "@napi-rs/image";
import sharp from "sharp";
import { CorruptRecordError, errorMessage } from "./errors.js";

export interface RgbImage {
  /** height x width x 3 bytes, row-major RGB. */
  pixels: Uint8Array;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Resize to [height, width] (stretching, as face crops are aligned already) when the image differs. */
  size?: readonly [number, number];
  /** Mirror left-right. */
  flip?: boolean;
  /** The size the dataset declares ([height, width]); an image of another size is an error. */
  declaredSize?: readonly [number, number] | null;
  /** Names the image in errors, e.g. "train.rec: record key 7". */
  what?: string;
}

/** Decodes an encoded image to RGB pixels. Throws CorruptRecordError for data that is not a readable image. */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const what = options.what ?? "image";
  let decoded: RgbImage;
  try {
    let pipeline = sharp(bytes, { failOn: "warning" }).removeAlpha().toColourspace("srgb");
    if (options.flip) pipeline = pipeline.flop();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    decoded = { pixels: data, width: info.width, height: info.height };
  } catch (error) {
    // libvips reports on several lines, and how many varies between runs: one line per bad record keeps the
    // problem lists of `facekd data verify` one record per line
    const cause = errorMessage(error)
      .trim()
      .split(/\s*\n\s*/)
      .join("; ");
    throw new CorruptRecordError(
      `${what}: cannot decode the image (${cause}): it is corrupt or not a JPEG/PNG/WebP; ` +
        "re-create it (skipCorrupt skips such records)",
    );
  }
  const declared = options.declaredSize;
  if (declared && (decoded.height !== declared[0] || decoded.width !== declared[1])) {
    throw new CorruptRecordError(
      `${what}: the image is ${decoded.height}x${decoded.width} but the dataset's property file declares ` +
        `${declared[0]}x${declared[1]}: fix the property file (or the images)`,
    );
  }
  const size = options.size;
  if (size && (decoded.height !== size[0] || decoded.width !== size[1])) return resizeImage(decoded, size);
  return decoded;
}

/**
 * Decodes a JPEG synchronously when it is a complete 3-channel JPEG of [height, width] = `size`; returns null for
 * anything else (other formats, sizes, grey or CMYK JPEGs), which decodeImage() handles. A JPEG without its
 * end-of-image marker is truncated: an error, since the fast decoder would fill the missing rows silently.
 */
export function decodeJpegSync(bytes: Uint8Array, size: readonly [number, number], what = "image"): RgbImage | null {
  const dims = jpegSize(bytes);
  if (dims === null || dims[0] !== size[0] || dims[1] !== size[1]) return null;
  if (!endsWithEoi(bytes)) {
    throw new CorruptRecordError(
      `${what}: the JPEG data ends without its end-of-image marker: the image is truncated; re-create it ` +
        "(skipCorrupt skips such records)",
    );
  }
  let pixels: Uint8Array;
  try {
    pixels = new Transformer(bytes).rawPixelsSync();
  } catch (error) {
    throw new CorruptRecordError(`${what}: cannot decode the JPEG (${errorMessage(error)}); re-create it`);
  }
  return pixels.length === size[0] * size[1] * 3 ? { pixels, width: size[1], height: size[0] } : null;
}

/** [height, width] from a JPEG's frame header (SOFn), or null when `bytes` is not a JPEG with one. */
export function jpegSize(bytes: Uint8Array): [number, number] | null {
  // SOF0..SOF15 except DHT (c4), JPG (c8) and DAC (cc)
  const at = findJpegSegment(bytes, (m) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc);
  return at === null ? null : [(bytes[at + 5]! << 8) | bytes[at + 6]!, (bytes[at + 7]! << 8) | bytes[at + 8]!];
}

/** Where a JPEG's entropy-coded data starts (after its start-of-scan segment), or null when it has none. */
export function jpegScanStart(bytes: Uint8Array): number | null {
  const at = findJpegSegment(bytes, (m) => m === 0xda);
  return at === null ? null : at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
}

// The offset of the first marker segment before the scan data whose marker byte passes `wanted`
function findJpegSegment(bytes: Uint8Array, wanted: (marker: number) => boolean): number | null {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return null;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (wanted(marker)) return at;
    if (marker === 0xda) return null; // the scan data follows: no more segments to walk
    at += 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
  }
  return null;
}

// The end-of-image marker, allowing a little trailing padding after it
function endsWithEoi(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 2; i >= Math.max(2, bytes.length - 64); i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return true;
  }
  return false;
}

/** Resizes RGB pixels to [height, width] (Lanczos when shrinking, as sharp does by default). */
export async function resizeImage(image: RgbImage, size: readonly [number, number]): Promise<RgbImage> {
  const { data, info } = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size[1], size[0], { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { pixels: data, width: info.width, height: info.height };
}

export async function encodeJpeg(image: RgbImage, quality = 95): Promise<Uint8Array> {
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality: Math.round(quality), chromaSubsampling: "4:2:0" })
    .toBuffer();
}

export async function encodePng(image: RgbImage): Promise<Uint8Array> {
  return sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
