// One raw photo to aligned face crops: decode, detect, keep the faces that alignment can use, warp each onto the
// arcface template. Every face or photo left out gets a reason, so a folder's report says what was lost and why.
import sharp from "sharp";
import { decodeImage, type RgbImage } from "../codec.js";
import { errorMessage } from "../errors.js";
import type { DetectedFace, FaceDetector } from "./detector.js";
import { alignFace } from "./warp.js";

export type SkipReason = "unreadable" | "too-large" | "no-face" | "too-small" | "landmarks-off-image" | "max-faces";

export interface AlignSkip {
  reason: SkipReason;
  detail: string;
}

export interface AlignPhotoOptions {
  /** Crop side in pixels (default 112; a multiple of 112 or 128). */
  size?: number;
  /** Faces whose box has a shorter side below this many pixels are skipped (default 32). */
  minFace?: number;
  /** At most this many faces per photo, the largest first (default: all). */
  maxFaces?: number;
  /** Photos with more pixels are skipped before decoding (default 64 megapixels). */
  maxPixels?: number;
}

export interface AlignedPhoto {
  /** Crops in the order kept: the largest face first. */
  crops: RgbImage[];
  /** Faces found by the detector (kept or not). */
  detected: number;
  skipped: AlignSkip[];
}

/** Aligns every usable face of an encoded photo; never throws for a bad photo (it comes back skipped). */
export async function alignPhoto(
  bytes: Uint8Array,
  detector: FaceDetector,
  options: AlignPhotoOptions = {},
): Promise<AlignedPhoto> {
  const size = options.size ?? 112;
  const minFace = options.minFace ?? 32;
  const maxPixels = options.maxPixels ?? 64e6;
  let image: RgbImage;
  try {
    const { width, height } = await sharp(bytes).metadata();
    if (width * height > maxPixels) {
      const megapixels = ((width * height) / 1e6).toFixed(1);
      return skippedPhoto("too-large", `${width}x${height} (${megapixels} MP) exceeds ${maxPixels / 1e6} MP`);
    }
    image = await decodeImage(bytes);
  } catch (error) {
    return skippedPhoto("unreadable", errorMessage(error));
  }
  const faces = (await detector.detect(image)).sort((a, b) => area(b) - area(a));
  if (faces.length === 0) return skippedPhoto("no-face", `no face scored above the detector's threshold`);
  const crops: RgbImage[] = [];
  const skipped: AlignSkip[] = [];
  for (const face of faces) {
    const side = Math.min(face.box.width, face.box.height);
    const off = face.landmarks.find(([x, y]) => !(x >= 0 && y >= 0 && x <= image.width - 1 && y <= image.height - 1));
    if (side < minFace) {
      skipped.push({ reason: "too-small", detail: `a ${Math.round(side)}-pixel face (--min-face ${minFace})` });
    } else if (off) {
      skipped.push({ reason: "landmarks-off-image", detail: `a landmark at (${off.map(Math.round).join(", ")})` });
    } else if (options.maxFaces !== undefined && crops.length >= options.maxFaces) {
      skipped.push({ reason: "max-faces", detail: `beyond the ${options.maxFaces} largest faces` });
    } else {
      crops.push(alignFace(image, face.landmarks, size));
    }
  }
  return { crops, detected: faces.length, skipped };
}

function area(face: DetectedFace): number {
  return face.box.width * face.box.height;
}

function skippedPhoto(reason: SkipReason, detail: string): AlignedPhoto {
  return { crops: [], detected: 0, skipped: [{ reason, detail }] };
}
