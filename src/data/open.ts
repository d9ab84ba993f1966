// Opening a dataset from a path (the kind is told by its extension or by what a folder holds), and reopening
// one from its spec in a worker thread.
import { existsSync, readdirSync, statSync } from "node:fs";
import { extname } from "node:path";
import { DataError, type CorruptPolicy } from "./errors.js";
import { FilesSource, openLabeledFolder, openListFile, openUnlabeledFolder, IMAGE_EXTENSIONS } from "./folder.js";
import { MemorySource } from "./memory.js";
import { RecDataset } from "./recordio/rec-dataset.js";
import type { FaceSource, SourceSpec } from "./source.js";
import { readVerificationPack } from "./verification/bin-reader.js";

export interface OpenOptions extends CorruptPolicy {
  /** For folders: true = one subfolder per identity, false = unlabeled. Default: labeled when the folder holds
   *  only subfolders, unlabeled when it holds images. */
  labeled?: boolean;
}

/**
 * Opens `.rec` (+ .idx, property), `.bin` verification packs (images as unlabeled samples in pair order),
 * list files (`.txt`, `.list`: "path label" lines) and image folders.
 */
export function openDataset(path: string, options: OpenOptions = {}): FaceSource {
  if (!existsSync(path)) throw new DataError(`${path}: no such file or folder`);
  if (statSync(path).isDirectory()) {
    const labeled =
      options.labeled ?? !readdirSync(path).some((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase()));
    return labeled ? openLabeledFolder(path) : openUnlabeledFolder(path);
  }
  switch (extname(path).toLowerCase()) {
    case ".rec":
      return RecDataset.open(path, options);
    case ".bin": {
      const pack = readVerificationPack(path);
      return new MemorySource(path, pack.images, new Int32Array(pack.images.length).fill(-1), null);
    }
    case ".txt":
    case ".list":
      return openListFile(path);
    default:
      throw new DataError(
        `${path}: unknown dataset kind; facekd reads .rec packs, .bin verification packs, list files ` +
          "(.txt/.list) and image folders",
      );
  }
}

export function openSource(spec: SourceSpec): FaceSource {
  switch (spec.kind) {
    case "rec":
      return RecDataset.fromSpec(spec);
    case "files":
      return new FilesSource(spec);
    case "memory":
      return MemorySource.fromSpec(spec);
  }
}
