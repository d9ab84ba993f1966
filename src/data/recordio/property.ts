// insightface's `property` file beside train.rec: "num_classes,height,width".
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataError } from "../errors.js";

const MAX_CLASSES = 2 ** 24;
const MAX_SIDE = 65535;

export interface PackProperty {
  numClasses: number;
  imageSize: [number, number];
}

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
  // labels are float32 in RecordIO (exact up to 2^24), and JPEG sides are 16-bit
  if (numClasses > MAX_CLASSES || height > MAX_SIDE || width > MAX_SIDE) {
    throw new DataError(
      `${path}: "${text.slice(0, 80)}" declares ${numClasses} identities of ${height}x${width} images, beyond what a ` +
        `pack can hold (${MAX_CLASSES} identities, ${MAX_SIDE} pixels a side): the file is damaged; fix or delete it`,
    );
  }
  return { numClasses, imageSize: [height, width] };
}

export function writeProperty(path: string, property: PackProperty): void {
  const [h, w] = property.imageSize;
  writeFileSync(path, `${property.numClasses},${h},${w}\n`);
}
