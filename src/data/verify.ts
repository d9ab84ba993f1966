// Checks every record of a dataset once: read, label checks of its reader, and strict decoding (libjpeg's
// warnings are errors), which catches damaged JPEG data that the loader's fast decoder passes silently.
import { FaceLoader } from "./loader/loader.js";
import { openDataset } from "./open.js";
import type { FaceSource } from "./source.js";

export interface VerifyOptions {
  /** Decoding threads (default 2); 0 decodes in the calling thread. */
  workers?: number;
  /** Called after each batch with the records checked so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyReport {
  path: string;
  /** Records read and decoded. */
  checked: number;
  /** One message per bad record, in dataset order, naming its file or record key and what is wrong. */
  problems: string[];
}

const BATCH = 64;

/**
 * Reads and strictly decodes every record of `path` (anything openDataset() opens). A bad record is reported, not
 * thrown; a problem with the whole dataset (a missing .idx, an unreadable list file) is thrown as a DataError.
 */
export async function verifyDataset(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const source = openDataset(path);
  try {
    return { path, checked: source.length, problems: await strictProblems(source, options) };
  } finally {
    source.close();
  }
}

async function strictProblems(source: FaceSource, options: VerifyOptions): Promise<string[]> {
  const problems: string[] = [];
  const loader = new FaceLoader(source, {
    batchSize: BATCH,
    // a declared size is checked against every image; otherwise the size only decides what gets resized
    imageSize: source.imageSize ?? [112, 112],
    shuffle: false,
    flip: false,
    dropLast: false,
    workers: options.workers ?? 2,
    strictDecode: true,
    skipCorrupt: true,
    onSkip: (error) => problems.push(error.message),
  });
  try {
    for await (const batch of loader.epoch()) {
      batch[Symbol.dispose]();
      const { epoch, index } = loader.position;
      options.onProgress?.(epoch > 0 ? source.length : index, source.length);
    }
    return problems;
  } finally {
    await loader.close();
  }
}
