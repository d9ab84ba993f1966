// insightface's `property` file beside train.rec: "num_classes,height,width".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataError } from "../errors.js";

export interface PackProperty {
  numClasses: number;
  imageSize: [number, number];
}

/** A larger declared side is a damaged file: decoding buffers of that size could not even be allocated. */
const MAX_SIDE = 4096;

/** The `property` file that belongs to a .rec (in the same folder). */
export function propertyPathFor(recPath: string): string {
  return join(dirname(recPath), "property");
}

/** Reads a property file, or returns null when there is none. */
export function readProperty(path: string): PackProperty | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, "latin1").trim();
  const fields = text.split(",").map((f) => Number(f.trim()));
  if (fields.length !== 3 || !fields.every((v) => Number.isSafeInteger(v) && v > 0)) {
    throw new DataError(
      `${path}: expected "num_classes,height,width" (three positive integers, e.g. "85742,112,112"), ` +
        `found ${JSON.stringify(text.slice(0, 80))}: fix or delete the property file`,
    );
  }
  const [numClasses, height, width] = fields as [number, number, number];
  if (height > MAX_SIDE || width > MAX_SIDE) {
    throw new DataError(
      `${path}: declares ${height}x${width} images, more than ${MAX_SIDE} pixels a side (aligned face crops are ` +
        "112x112 to a few hundred): fix the property file (num_classes,height,width) or delete it",
    );
  }
  return { numClasses, imageSize: [height, width] };
}

export function writeProperty(path: string, property: PackProperty): void {
  const [h, w] = property.imageSize;
  writeFileSync(path, `${property.numClasses},${h},${w}\n`);
}
