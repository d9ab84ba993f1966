// The paths a config names, checked before anything runs: an input exists, is a file or a folder as its key needs,
// and is readable; an output folder is a folder or can be made. Each check returns the problem as a phrase for a
// ConfigProblem (the caller knows the key), or null.
import { accessSync, constants, existsSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** `expect`: "file" for a pack or a checkpoint, "any" for a dataset (a .rec, a list file or a folder). */
export function inputPathProblem(path: string, expect: "file" | "any", what = "a file"): string | null {
  if (!existsSync(path)) return `${path} does not exist`;
  if (expect === "file" && statSync(path).isDirectory()) {
    return `${path} is a folder, but this key names ${what}: give the file inside it`;
  }
  try {
    accessSync(path, constants.R_OK);
  } catch {
    return `${path} is not readable (check its permissions)`;
  }
  return null;
}

/** A folder to write into: an existing folder, or one whose nearest existing ancestor is a writable folder. */
export function outputFolderProblem(path: string): string | null {
  const target = resolve(path);
  let existing = target;
  while (!existsSync(existing)) existing = dirname(existing);
  const what = existing === target ? `${path}` : `${existing}, a folder above ${path},`;
  if (!statSync(existing).isDirectory()) return `${what} is a file: give a folder path`;
  try {
    accessSync(existing, constants.W_OK);
  } catch {
    return `${what} is not writable`;
  }
  return null;
}
