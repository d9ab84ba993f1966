// What a dataset holds (for `facekd data info`): counts, identities, image size, pairs, and a sample grid PNG.
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { decodeImage } from "./codec.js";
import { sampleGrid } from "./grid.js";
import { openDataset, type OpenOptions } from "./open.js";
import { RecDataset } from "./recordio/rec-dataset.js";
import { readVerificationPack } from "./verification/bin-reader.js";

export interface DatasetInfo {
  path: string;
  kind: "recordio" | "verification pack" | "image folder" | "list file";
  images: number;
  /** Identities, or null for unlabeled data. */
  identities: number | null;
  /** [height, width]: as declared (property), else of the first image. */
  imageSize: [number, number];
  /** RecordIO layout ("header" or "idx-only"). */
  layout?: string;
  /** Verification packs: pairs and how many are genuine. */
  pairs?: number;
  genuinePairs?: number;
  /** Where the sample grid was written, when asked for. */
  sampleGrid?: string;
}

export interface InfoOptions extends OpenOptions {
  /** Write a PNG grid of samples (spread evenly over the dataset) to this path. */
  samplePath?: string;
  /** Samples in the grid (default 32, 8 per row). */
  samples?: number;
}

export async function datasetInfo(path: string, options: InfoOptions = {}): Promise<DatasetInfo> {
  const source = openDataset(path, options);
  try {
    const first = source.read(0);
    const decoded = await decodeImage(first.image, { what: `${path}: first image` });
    const ext = extname(path).toLowerCase();
    const info: DatasetInfo = {
      path,
      kind:
        source instanceof RecDataset
          ? "recordio"
          : ext === ".bin"
            ? "verification pack"
            : ext === ".txt" || ext === ".list"
              ? "list file"
              : "image folder",
      images: source.length,
      identities: source.numClasses,
      imageSize: source.imageSize ? [source.imageSize[0], source.imageSize[1]] : [decoded.height, decoded.width],
    };
    if (source instanceof RecDataset) info.layout = source.layout;
    if (info.kind === "verification pack") {
      const { issame } = readVerificationPack(path);
      info.pairs = issame.length;
      info.genuinePairs = issame.filter(Boolean).length;
    }
    if (options.samplePath !== undefined) {
      const count = Math.min(options.samples ?? 32, source.length);
      const positions = Array.from({ length: count }, (_, i) => Math.floor((i * source.length) / count));
      const images = positions.map((p) => source.read(p).image);
      writeFileSync(options.samplePath, await sampleGrid(images, Math.min(8, count), info.imageSize[0]));
      info.sampleGrid = options.samplePath;
    }
    return info;
  } finally {
    source.close();
  }
}

/** The info as lines of text for a terminal. */
export function formatDatasetInfo(info: DatasetInfo): string {
  const lines = [
    `${info.path}: ${info.kind}${info.layout ? ` (${info.layout} layout)` : ""}`,
    `  images:     ${info.images}`,
    `  identities: ${info.identities ?? "unlabeled"}`,
    `  image size: ${info.imageSize[0]}x${info.imageSize[1]}`,
  ];
  if (info.pairs !== undefined) lines.push(`  pairs:      ${info.pairs} (${info.genuinePairs} genuine)`);
  if (info.sampleGrid) lines.push(`  samples:    ${info.sampleGrid}`);
  return lines.join("\n");
}
