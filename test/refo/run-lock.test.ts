// The run folder lock: a second process gets an error naming the holder; the lock of a dead process is taken over
// with a warning; a lock of another host or an unreadable one is an error; release removes only one's own lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { acquireRunLock, lockFile } from "../../src/refo/run-lock.js";

const HOLDER = fileURLToPath(new URL("./hold-run-lock.js", import.meta.url));
const folder = () => mkdtempSync(join(tmpdir(), "facekd-lock-"));

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

test("a second process is refused with the holder's pid and host; after the holder dies, the lock is taken over", async () => {
  const dir = folder();
  const child = spawn(process.execPath, [HOLDER, dir], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("locked") && resolve());
    child.on("exit", (code) => reject(new Error(`the holder exited with ${code}`)));
  });
  try {
    assert.throws(
      () => acquireRunLock(dir, () => {}),
      new RegExp(`in use by process ${child.pid} on ${hostname()}, started .*kill ${child.pid}`),
    );
  } finally {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.on("exit", resolve));
  }
  const warnings: string[] = [];
  const lock = acquireRunLock(dir, (line) => warnings.push(line));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, new RegExp(`taking over the lock of process ${child.pid} .*no longer runs`));
  assert.equal(JSON.parse(readFileSync(lockFile(dir), "utf8")).pid, process.pid);
  lock.release();
  assert.ok(!existsSync(lockFile(dir)));
});

test("a stale lock of this host is taken over; another host's or an unreadable one is an error", () => {
  const dir = folder();
  const stale = { pid: deadPid(), host: hostname(), startedAt: "2026-01-01T00:00:00.000Z", token: "old" };
  writeFileSync(lockFile(dir), JSON.stringify(stale));
  const warnings: string[] = [];
  const lock = acquireRunLock(dir, (line) => warnings.push(line));
  assert.match(warnings.join("\n"), new RegExp(`process ${stale.pid} on ${hostname()}, started 2026-01-01`));
  assert.throws(() => acquireRunLock(dir, () => {}), /in use by process \d+/, "held by this process now");
  lock.release();

  writeFileSync(lockFile(dir), JSON.stringify({ ...stale, host: "elsewhere" }));
  assert.throws(() => acquireRunLock(dir, () => {}), /in use by process \d+ on elsewhere.*delete .*run\.lock/);
  writeFileSync(lockFile(dir), "garbage");
  assert.throws(() => acquireRunLock(dir, () => {}), /run\.lock is not a facekd lock file/);
});

test("release removes the lock only while it is this process's", () => {
  const dir = folder();
  const lock = acquireRunLock(dir, () => {});
  const other = { pid: process.pid, host: hostname(), startedAt: "x", token: "someone-else" };
  writeFileSync(lockFile(dir), JSON.stringify(other)); // replaced behind our back
  lock.release();
  assert.ok(existsSync(lockFile(dir)), "another holder's lock stays");
});
