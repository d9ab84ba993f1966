// Writing files so that a crash leaves either the old file or the complete new one, never a half-written one.
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";

/** Writes through `write` into a temporary file beside `file`, then renames it over `file`. */
export function writeAtomically(file: string, write: (fd: number) => void): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const fd = openSync(tmp, "wx");
  try {
    write(fd);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (error) {
    unlinkSync(tmp);
    throw error;
  }
  // make the rename itself durable; not every platform can fsync a directory
  try {
    const dir = openSync(path.dirname(file), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // best effort
  }
}
