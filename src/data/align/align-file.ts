// The unit of work of a folder alignment, the same in the main thread and in worker threads: one photo file in,
// its crops as JPEG bytes and its skips out.
import { readFile } from "node:fs/promises";
import { encodeJpeg } from "../codec.js";
import { errorMessage } from "../errors.js";
import { alignPhoto, type AlignPhotoOptions, type AlignSkip } from "./align-photo.js";
import type { FaceDetector } from "./detector.js";

export interface AlignedFile {
  /** JPEG-encoded crops, the largest face first. */
  crops: Uint8Array[];
  detected: number;
  skipped: AlignSkip[];
}

/** JPEG quality of the crops: high, as they are the training data. */
const QUALITY = 95;

export async function alignFile(
  path: string,
  detector: FaceDetector,
  options: AlignPhotoOptions,
): Promise<AlignedFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    return { crops: [], detected: 0, skipped: [{ reason: "unreadable", detail: errorMessage(error) }] };
  }
  const photo = await alignPhoto(bytes, detector, options);
  const crops = await Promise.all(photo.crops.map((crop) => encodeJpeg(crop, QUALITY)));
  return { crops, detected: photo.detected, skipped: photo.skipped };
}
