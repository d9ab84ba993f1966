// One writer per run folder: `run.lock` holds the pid, host and start time of the process working in it. The lock
// appears complete or not at all (written to a temporary file, then hard-linked to its name, which fails when the
// name exists, as O_EXCL does), so a second process either gets it or reads who holds it. A lock left by a dead
// process on this host (kill -9, a crash) is taken over with a warning; a lock of another host cannot be judged
// from here and stays an error.
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  /** Tells this lock from a later one of the same pid. */
  token: string;
}

export interface RunLock {
  file: string;
  holder: LockHolder;
  /** Removes the lock if it is still this one; safe to call twice. */
  release(): void;
}

export const lockFile = (runDir: string): string => join(runDir, "run.lock");

function readHolder(file: string): LockHolder | null | "unreadable" {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return Number.isInteger(holder.pid) && typeof holder.host === "string" ? holder : "unreadable";
  } catch {
    return "unreadable";
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, but another user's
  }
}

const describe = (h: LockHolder): string => `process ${h.pid} on ${h.host}, started ${h.startedAt}`;

/** Creates `file` holding `holder`, or returns false when it exists. */
function tryCreate(file: string, holder: LockHolder): boolean {
  const tmp = `${file}.${holder.token}.tmp`;
  writeFileSync(tmp, JSON.stringify(holder) + "\n");
  try {
    linkSync(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    unlinkSync(tmp);
  }
}

/** Moves a dead holder's lock aside; if another process replaced it meanwhile, puts that one back. */
function takeOver(file: string, stale: LockHolder, log: (line: string) => void): void {
  const aside = `${file}.${randomBytes(6).toString("hex")}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // another process took it over first
    throw error;
  }
  const moved = readHolder(aside);
  if (moved !== null && moved !== "unreadable" && moved.token !== stale.token) {
    try {
      linkSync(aside, file); // a live lock taken by mistake: restore it (unless yet another one exists)
    } catch {
      // the name is taken again: that process holds the folder
    }
  } else {
    log(`warning: taking over the lock of ${describe(stale)}, which no longer runs (${file})`);
  }
  unlinkSync(aside);
}

/**
 * Locks `runDir` for this process, or throws an error naming the holder. A lock whose process is dead (same host)
 * is taken over with a warning through `log`.
 */
export function acquireRunLock(runDir: string, log: (line: string) => void): RunLock {
  mkdirSync(runDir, { recursive: true });
  const file = lockFile(runDir);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  for (let attempt = 0; attempt < 10; attempt++) {
    if (tryCreate(file, holder)) return heldLock(file, holder);
    const other = readHolder(file);
    if (other === null) continue; // released meanwhile
    if (other === "unreadable") {
      throw new Error(
        `${file} is not a facekd lock file: if no facekd process works in ${runDir}, delete it and start again`,
      );
    }
    if (other.host !== holder.host) {
      throw new Error(
        `${runDir} is in use by ${describe(other)}: wait for it to finish, or, if no process on ${other.host} ` +
          `works in this folder any more, delete ${file}`,
      );
    }
    if (isAlive(other.pid)) {
      throw new Error(
        `${runDir} is in use by ${describe(other)}: wait for it to finish or stop it (kill ${other.pid}); ` +
          "two processes in one run folder would overwrite each other's stages",
      );
    }
    takeOver(file, other, log);
  }
  throw new Error(`${file}: could not take the lock (other processes keep taking it); try again`);
}

function heldLock(file: string, holder: LockHolder): RunLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off("exit", release);
    const current = readHolder(file);
    if (current !== null && current !== "unreadable" && current.token === holder.token) unlinkSync(file);
  };
  process.on("exit", release); // process.exit() in the middle of a run
  return { file, holder, release };
}
