// Shared helpers of the data tests: fixture paths, a temporary folder, small generated images.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";

const root = fileURLToPath(new URL("../../../", import.meta.url));

export const fixture = (name: string): string => path.join(root, "test", "fixtures", "insightface", name);

/** A temporary folder removed when the process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `facekd-${prefix}-`));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * An image whose pixels say what it is: channel 0 = `value`, channel 1 = the column (x * 4), channel 2 = the row,
 * so that tests can check identity, flips and resizes. PNG is lossless; JPEG is for the realistic paths.
 */
export function rawImage(value: number, width = 16, height = 16): Uint8Array {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) pixels.set([value, (x * 4) % 256, y], (y * width + x) * 3);
  }
  return pixels;
}

export async function png(value: number, width = 16, height = 16): Promise<Uint8Array> {
  const raw = { width, height, channels: 3 as const };
  return sharp(rawImage(value, width, height), { raw })
    .png()
    .toBuffer();
}

export async function jpeg(value: number, width = 16, height = 16): Promise<Uint8Array> {
  const raw = { width, height, channels: 3 as const };
  return sharp(rawImage(value, width, height), { raw })
    .jpeg({ quality: 90 })
    .toBuffer();
}
