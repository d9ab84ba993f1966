// Multi-process tests: spawns one worker process per rank (torchrun's environment on 127.0.0.1) and collects the
// "RESULT <json>" line each prints. A worker script picks its scenario from FACEKD_DIST_WORKER.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";

const KILL_AFTER_MS = 45_000; // a hung rank is killed well inside the test's own 55 s limit
/** The timeout to give a test that runs workers. */
export const TEST_TIMEOUT_MS = 55_000;

const live = new Set<ChildProcess>();

/** Kills every worker still running: call it in the test file's after() hook, in case a test was cut short. */
export function killAllWorkers(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  live.clear();
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs the worker script (a compiled .js file) once per entry of `envs` (each merged over the parent's environment) and collects how each
 * exited. Kills all of them when one fails (the others would wait for it) or after KILL_AFTER_MS.
 */
export async function runWorkers(worker: string, scenario: string, envs: Record<string, string>[]): Promise<Exit[]> {
  const children: ChildProcess[] = [];
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killAll();
  }, KILL_AFTER_MS);
  try {
    const exits = await Promise.all(
      envs.map((extra) => {
        const env: NodeJS.ProcessEnv = { ...process.env, ...extra, FACEKD_DIST_WORKER: scenario };
        delete env.NODE_TEST_CONTEXT; // the worker is not a test file of this run
        const child = spawn(process.execPath, [worker], { env, stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        live.add(child);
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        return new Promise<Exit>((resolve, reject) => {
          child.once("error", reject);
          child.once("close", (code, signal) => {
            live.delete(child);
            if (code !== 0) killAll();
            resolve({ code, signal, stdout, stderr });
          });
        });
      }),
    );
    if (timedOut) {
      const detail = exits.map((e, i) => `worker ${i} (${e.signal ?? e.code}):\n${e.stdout}${e.stderr}`).join("\n");
      assert.fail(`'${scenario}' workers did not finish within ${KILL_AFTER_MS} ms and were killed\n${detail}`);
    }
    return exits;
  } finally {
    clearTimeout(timer);
    killAll();
  }
}

export function rankEnvs(worldSize: number, port: number): Record<string, string>[] {
  return Array.from({ length: worldSize }, (_, rank) => ({
    RANK: String(rank),
    WORLD_SIZE: String(worldSize),
    MASTER_ADDR: "127.0.0.1",
    MASTER_PORT: String(port),
  }));
}

/** The worker's RESULT line, after checking that it exited cleanly. */
export function resultOf(exit: Exit, index: number): Record<string, unknown> {
  assert.equal(exit.code, 0, `worker ${index} exited with ${exit.signal ?? exit.code}:\n${exit.stdout}${exit.stderr}`);
  const line = exit.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `worker ${index} printed no RESULT line:\n${exit.stdout}${exit.stderr}`);
  return JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
}
