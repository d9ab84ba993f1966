// Sample grids: encoded images tiled into one PNG, for a person to look at a dataset.
import sharp from "sharp";
import { decodeImage } from "./codec.js";

/** Tiles `images` (encoded) row by row, `columns` per row, each resized to `tile` pixels; returns PNG bytes. */
export async function sampleGrid(images: readonly Uint8Array[], columns: number, tile = 112): Promise<Uint8Array> {
  if (images.length === 0) throw new RangeError("sampleGrid: no images to show");
  const rows = Math.ceil(images.length / columns);
  const tiles = await Promise.all(
    images.map(async (bytes, i) => {
      const image = await decodeImage(bytes, { size: [tile, tile], what: `grid image ${i}` });
      const input = await sharp(image.pixels, { raw: { width: tile, height: tile, channels: 3 } })
        .png()
        .toBuffer();
      return { input, left: (i % columns) * tile, top: Math.floor(i / columns) * tile };
    }),
  );
  const canvas = { width: columns * tile, height: rows * tile, channels: 3 as const, background: "#000000" };
  return sharp({ create: canvas }).composite(tiles).png().toBuffer();
}
