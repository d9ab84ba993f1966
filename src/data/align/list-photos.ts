// Streams the photos of a folder tree in name order, one directory listing in memory at a time, so that a folder
// of any size starts aligning at once. Labeled: each top-level subfolder is an identity.
import { opendir } from "node:fs/promises";
import { join } from "node:path";
import { DataError } from "../errors.js";
import { byName, isImageFile } from "../folder.js";

export interface PhotoEntry {
  path: string;
  /** The path below the root, with "/" separators. */
  relative: string;
  /** The top-level subfolder's name when labeled, else null. */
  identity: string | null;
}

const listTop = (root: string) =>
  listDir(root).catch(() => {
    throw new DataError(`${root}: cannot list the folder; check the path`);
  });

/** The identities of a labeled folder: its top-level subfolders in name order. */
export async function listIdentities(root: string): Promise<string[]> {
  const { dirs } = await listTop(root);
  if (dirs.length === 0) {
    throw new DataError(`${root}: labeled photos need one subfolder per identity, and there is none`);
  }
  return dirs;
}

export async function* listPhotos(root: string, labeled: boolean): AsyncGenerator<PhotoEntry> {
  if (labeled) {
    for (const dir of await listIdentities(root)) yield* walk(join(root, dir), dir, dir);
  } else {
    const top = await listTop(root);
    for (const file of top.files) yield { path: join(root, file), relative: file, identity: null };
    for (const dir of top.dirs) yield* walk(join(root, dir), dir, null);
  }
}

async function* walk(dir: string, relative: string, identity: string | null): AsyncGenerator<PhotoEntry> {
  const { dirs, files } = await listDir(dir);
  for (const file of files) yield { path: join(dir, file), relative: `${relative}/${file}`, identity };
  for (const sub of dirs) yield* walk(join(dir, sub), `${relative}/${sub}`, identity);
}

async function listDir(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  const dirs: string[] = [];
  const files: string[] = [];
  for await (const entry of await opendir(dir)) {
    if (entry.isDirectory()) dirs.push(entry.name);
    else if (isImageFile(entry.name)) files.push(entry.name);
  }
  return { dirs: dirs.sort(byName), files: files.sort(byName) };
}
