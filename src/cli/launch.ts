// Running a command on several processes, as torchrun does: `--nproc N` makes this process a launcher that starts N
// workers on this machine (the same command line, with torchrun's environment: WORLD_SIZE, RANK, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), and a process started with that environment (by this launcher,
// torchrun or a SLURM script) joins the job as a worker. The launcher watches its workers: when one fails or is
// killed it ends the others and names it. Only rank 0 prints; another rank's last lines of stderr are shown when it
// fails.
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import os from "node:os";
import type { Command } from "commander";
import * as torch from "../torch/index.js";
import { initProcessGroup, type ProcessGroup } from "../torch/distributed.js";
import { integerOption } from "./parse.js";

export interface DistFlags {
  nproc?: number;
  nnodes?: number;
  nodeRank?: number;
  masterAddr?: string;
  masterPort?: number;
  /** Seconds. */
  distTimeout?: number;
}

/** torchrun's default port when several machines take part. */
const DEFAULT_PORT = 29500;
/** torch.distributed's default timeout. */
const DEFAULT_TIMEOUT_S = 1800;
/** How long the launcher waits after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5000;
const STDERR_LINES = 20;

export function addDistOptions(command: Command): Command {
  return command
    .option(
      "--nproc <n>",
      "worker processes on this machine (like torchrun --nproc-per-node)",
      integerOption("nproc", 1),
    )
    .option("--nnodes <n>", "machines taking part (default 1)", integerOption("nnodes", 1))
    .option(
      "--node-rank <i>",
      "this machine's index among --nnodes (0 serves the rendezvous)",
      integerOption("node-rank", 0),
    )
    .option("--master-addr <host>", "node 0's address (default 127.0.0.1)")
    .option(
      "--master-port <port>",
      `node 0's rendezvous port (default: a free one, ${DEFAULT_PORT} with --nnodes > 1)`,
      integerOption("master-port", 1),
    )
    .option(
      "--dist-timeout <s>",
      `seconds before a stalled rendezvous or collective fails the job (${DEFAULT_TIMEOUT_S})`,
      integerOption("dist-timeout", 1),
    );
}

/**
 * Runs `body` once in this process (group null), or as a launcher of workers (with --nproc / --nnodes), or as one
 * worker of a job (torchrun's environment set), where `body` gets the job's process group.
 */
export async function runDistributed(
  flags: DistFlags,
  body: (group: ProcessGroup | null) => Promise<void>,
): Promise<void> {
  if (process.env.RANK !== undefined && process.env.WORLD_SIZE !== undefined) return asWorker(flags, body);
  const nproc = flags.nproc ?? 1;
  const nnodes = flags.nnodes ?? 1;
  if (nproc === 1 && nnodes === 1) return body(null);
  await launch(flags, nproc, nnodes);
}

async function asWorker(flags: DistFlags, body: (group: ProcessGroup | null) => Promise<void>): Promise<void> {
  const rank = process.env.RANK!;
  const local = Number(process.env.LOCAL_WORLD_SIZE ?? 1);
  // the machine's cores shared among its workers (FACEKD_THREADS or a config's threads, when set, win)
  if (!process.env.FACEKD_THREADS) {
    torch.setNumThreads(Math.max(1, Math.floor(os.availableParallelism() / (local > 0 ? local : 1))));
  }
  const timeoutS = flags.distTimeout ?? DEFAULT_TIMEOUT_S;
  let group: ProcessGroup;
  try {
    group = initProcessGroup({ timeoutMs: timeoutS * 1000 });
  } catch (error) {
    throw new Error(
      `rank ${rank}: could not join the job at ${process.env.MASTER_ADDR}:${process.env.MASTER_PORT} within ` +
        `${timeoutS} s (is rank 0 running, and do --master-addr / --master-port reach it?): ${messageOf(error)}`,
      { cause: error },
    );
  }
  try {
    await body(group);
  } catch (error) {
    const message = messageOf(error);
    // Gloo names a peer's address, not its rank: with --nproc the launcher names the rank that failed first
    const hint = /^(allReduce|broadcast|barrier):/.test(message)
      ? " (a collective failed: another rank probably died or stalled; its own log names its cause)"
      : "";
    throw new Error(`rank ${rank}: ${message}${hint}`, { cause: error });
  } finally {
    group.close();
  }
}

async function launch(flags: DistFlags, nproc: number, nnodes: number): Promise<void> {
  const nodeRank = flags.nodeRank ?? 0;
  if (nodeRank >= nnodes) throw new Error(`--node-rank ${nodeRank} must be below --nnodes ${nnodes}`);
  const addr = flags.masterAddr ?? "127.0.0.1";
  const timeoutMs = (flags.distTimeout ?? DEFAULT_TIMEOUT_S) * 1000;
  let port = flags.masterPort ?? (nnodes > 1 ? DEFAULT_PORT : 0);
  if (nodeRank === 0) port = await checkPortFree(port);
  else await checkReachable(addr, port, timeoutMs);
  const worldSize = nproc * nnodes;
  const env = { WORLD_SIZE: worldSize, LOCAL_WORLD_SIZE: nproc, MASTER_ADDR: addr, MASTER_PORT: port };
  const workers = Array.from({ length: nproc }, (_, local) => {
    const rank = nodeRank * nproc + local;
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...process.argv.slice(2)], {
      env: { ...process.env, ...stringValues({ ...env, RANK: rank, LOCAL_RANK: local, GROUP_RANK: nodeRank }) },
      stdio: rank === 0 ? "inherit" : ["ignore", "ignore", "pipe"],
    });
    return { rank, child, stderr: tail(child) };
  });
  console.error(
    `launched ranks ${workers[0]!.rank}..${workers.at(-1)!.rank} of ${worldSize} (pids ` +
      `${workers.map((w) => w.child.pid).join(", ")}), rendezvous at ${addr}:${port}`,
  );
  await watch(workers);
}

interface Worker {
  rank: number;
  child: ChildProcess;
  stderr: string[];
}

interface Exit {
  worker: Worker;
  code: number | null;
  signal: NodeJS.Signals | null;
}

// Resolves when every worker ended well; otherwise stops the rest and rejects with the first failure's cause. A
// worker killed by a signal it did not get from us is the likely cause of the others' failures, so it is preferred.
function watch(workers: Worker[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const failures: Exit[] = [];
    let running = workers.length;
    let stopping = false;
    const stopAll = (signal: NodeJS.Signals): void => {
      stopping = true;
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill(signal);
      setTimeout(
        () => workers.forEach((w) => w.child.exitCode === null && w.child.kill("SIGKILL")),
        KILL_GRACE_MS,
      ).unref();
    };
    const forward = (signal: NodeJS.Signals) => () => stopAll(signal);
    const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    for (const worker of workers) {
      worker.child.on("exit", (code, signal) => {
        running -= 1;
        if (code !== 0) failures.push({ worker, code, signal });
        if (code !== 0 && !stopping) setTimeout(() => stopAll("SIGTERM"), 500); // let the other exits arrive first
        if (running > 0) return;
        for (const [s, h] of handlers) process.off(s, h);
        if (failures.length === 0) resolve();
        else
          reject(
            new Error(
              describeFailure(failures.find((f) => f.signal !== null && f.signal !== "SIGTERM") ?? failures[0]!),
            ),
          );
      });
    }
  });
}

function describeFailure({ worker, code, signal }: Exit): string {
  const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
  const lines = worker.stderr.length > 0 ? `; its last lines:\n${worker.stderr.join("\n")}` : "";
  return `rank ${worker.rank} (pid ${worker.child.pid}) ${how}; the other ranks were stopped${lines}`;
}

// the last lines a worker wrote to stderr (a rank other than 0 prints only when it fails)
function tail(child: ChildProcess): string[] {
  const lines: string[] = [];
  let partial = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    const parts = (partial + text).split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    lines.splice(0, Math.max(0, lines.length - STDERR_LINES));
  });
  return lines;
}

// Binds the port for a moment: rank 0's store will serve it (port 0 picks a free one).
function checkPortFree(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === "EADDRINUSE"
            ? `--master-port ${port} is in use on this machine (another job?): choose another port`
            : `cannot listen on port ${port} for the rendezvous: ${error.message}`,
        ),
      ),
    );
    server.listen(port, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

// A machine other than node 0 waits (up to the timeout) until node 0's rendezvous port answers.
async function checkReachable(addr: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const error = await new Promise<Error | null>((resolve) => {
      const socket = net.connect({ host: addr, port, timeout: 5000 });
      socket.once("connect", () => (socket.destroy(), resolve(null)));
      socket.once("timeout", () => (socket.destroy(), resolve(new Error("connection timed out"))));
      socket.once("error", resolve);
    });
    if (error === null) return;
    last = error.message;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(
    `the master ${addr}:${port} did not answer within ${timeoutMs / 1000} s (${last}): start node 0 first and check ` +
      "--master-addr / --master-port and the firewall",
  );
}

const stringValues = (o: Record<string, string | number>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
