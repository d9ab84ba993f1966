// Content fingerprints of files and folders: the stage markers' checksums of their outputs and the fingerprints of a
// run's inputs (datasets, verification packs, a pretrained teacher). A file up to SAMPLE_ABOVE bytes is hashed
// whole (sha256); a larger one, in `sampled` mode, by its size and SAMPLE_BLOCKS blocks spread evenly over it (the
// first and the last included), so that fingerprinting a 100 GB pack costs a few megabytes of reads. `full` mode
// hashes every byte.
import { createHash, type Hash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";

export type FingerprintMode = "sampled" | "full";

/** What a stage marker records of one output file (path relative to the run folder). */
export interface FileDigest {
  path: string;
  size: number;
  sha256: string;
  /** Hashed by sampled blocks rather than whole. */
  sampled?: true;
}

const SAMPLE_ABOVE = 64 * 2 ** 20;
const SAMPLE_BLOCKS = 64;
const BLOCK = 2 ** 20;

function hashRange(hash: Hash, fd: number, start: number, length: number, buffer: Buffer): void {
  for (let done = 0; done < length;) {
    const n = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), start + done);
    if (n === 0) throw new Error(`the file ended at byte ${start + done} while it was being hashed`);
    hash.update(buffer.subarray(0, n));
    done += n;
  }
}

/** The sha256 of `file`, whole or (large files in sampled mode) of its size and sampled blocks. */
export function hashFile(file: string, mode: FingerprintMode): { size: number; sha256: string; sampled: boolean } {
  const size = statSync(file).size;
  const sampled = mode === "sampled" && size > SAMPLE_ABOVE;
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(BLOCK);
  const fd = openSync(file, "r");
  try {
    if (!sampled) hashRange(hash, fd, 0, size, buffer);
    else {
      hash.update(`size ${size}\n`);
      for (let i = 0; i < SAMPLE_BLOCKS; i++) {
        hashRange(hash, fd, Math.floor((i * (size - BLOCK)) / (SAMPLE_BLOCKS - 1)), BLOCK, buffer);
      }
    }
  } finally {
    closeSync(fd);
  }
  return { size, sha256: hash.digest("hex"), sampled };
}

/** Every file under `dir`, sorted, except those `skip` (given a path relative to `dir`) leaves out. */
export function listFiles(dir: string, skip: (relativePath: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (skip(relative(dir, full))) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

/** The digests of `files`, their paths relative to `root`. */
export function digestFiles(root: string, files: readonly string[], mode: FingerprintMode): FileDigest[] {
  return files.map((file) => {
    const { size, sha256, sampled } = hashFile(file, mode);
    return { path: relative(root, file), size, sha256, ...(sampled ? { sampled: true as const } : {}) };
  });
}

/** What is wrong with each recorded output now: missing, or a different size or checksum. */
export function changedFiles(root: string, recorded: readonly FileDigest[]): string[] {
  const problems: string[] = [];
  for (const digest of recorded) {
    const file = join(root, digest.path);
    if (!existsSync(file)) {
      problems.push(`${digest.path} is missing`);
      continue;
    }
    const size = statSync(file).size;
    if (size !== digest.size) problems.push(`${digest.path} changed size (${digest.size} -> ${size} bytes)`);
    else if (hashFile(file, digest.sampled ? "sampled" : "full").sha256 !== digest.sha256) {
      problems.push(`${digest.path} changed (its checksum differs)`);
    }
  }
  return problems;
}

/** The files a dataset path stands for: a .rec with its .idx and property, a folder's files, or the file. */
function datasetFiles(path: string): string[] {
  if (statSync(path).isDirectory()) return listFiles(path);
  if (extname(path) !== ".rec") return [path];
  const siblings = [path.replace(/\.rec$/, ".idx"), join(dirname(path), "property")];
  return [path, ...siblings.filter((f) => existsSync(f))];
}

/**
 * The content fingerprint of an input (a file, a .rec pack or a folder). Sampled mode adds a large file's
 * modification time to its sampled blocks (a pack rewritten in place with the same size is caught by its mtime, at
 * the price of treating a copied pack as a new one) and takes a folder's files by name, size and mtime (reading
 * millions of images would cost as much as an epoch); full mode hashes every byte and ignores times.
 */
export function inputFingerprint(path: string, mode: FingerprintMode): string {
  const byStat = mode === "sampled" && statSync(path).isDirectory();
  const hash = createHash("sha256");
  for (const file of datasetFiles(path)) {
    const name = relative(path, file);
    if (byStat) {
      const { size, mtimeMs } = statSync(file);
      hash.update(`${name} ${size} ${mtimeMs}\n`);
      continue;
    }
    const digest = hashFile(file, mode);
    const time = digest.sampled ? ` ${statSync(file).mtimeMs}` : "";
    hash.update(`${name} ${digest.size} ${digest.sha256}${time}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}
