// Copies a folder by hard links: the copy costs no disk and no time, and stays intact when the original is
// deleted. Files are never rewritten in place by facekd (writes go to a temporary file that is renamed over the
// old one), so the two copies cannot change each other. Falls back to copying where links are not allowed.
import { copyFileSync, linkSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** Recreates `from` under `to` (which must not exist yet), file by file, as hard links where possible. */
export function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const [source, target] = [join(from, entry.name), join(to, entry.name)];
    if (entry.isDirectory()) linkTree(source, target);
    else {
      try {
        linkSync(source, target);
      } catch {
        copyFileSync(source, target); // another file system, or links refused
      }
    }
  }
}
