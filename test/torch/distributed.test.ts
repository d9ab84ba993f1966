import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { ProcessGroup, TCPStore, initProcessGroup } from "../../src/torch/distributed.js";

const WORKER = fileURLToPath(new URL("./distributed-worker.js", import.meta.url));
const KILL_AFTER_MS = 45_000; // a hung rank is killed well inside the test's own 55 s limit
const TEST_TIMEOUT_MS = 55_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A port that was free a moment ago on 127.0.0.1. */
async function freePort(): Promise<number> {
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
 * Runs the worker once per entry of `envs` (each merged over the parent's environment) and collects how each
 * exited. Kills all of them when one fails (the others would wait for it) or after KILL_AFTER_MS.
 */
async function runWorkers(scenario: string, envs: Record<string, string>[]): Promise<Exit[]> {
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
        const child = spawn(process.execPath, [WORKER], { env, stdio: ["ignore", "pipe", "pipe"] });
        children.push(child);
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
        return new Promise<Exit>((resolve, reject) => {
          child.once("error", reject);
          child.once("close", (code, signal) => {
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

function rankEnvs(worldSize: number, port: number): Record<string, string>[] {
  return Array.from({ length: worldSize }, (_, rank) => ({
    RANK: String(rank),
    WORLD_SIZE: String(worldSize),
    MASTER_ADDR: "127.0.0.1",
    MASTER_PORT: String(port),
  }));
}

/** The worker's RESULT line, after checking that it exited cleanly. */
function resultOf(exit: Exit, index: number): Record<string, unknown> {
  assert.equal(exit.code, 0, `worker ${index} exited with ${exit.signal ?? exit.code}:\n${exit.stdout}${exit.stderr}`);
  const line = exit.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  assert.ok(line, `worker ${index} printed no RESULT line:\n${exit.stdout}${exit.stderr}`);
  return JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
}

test("two Gloo ranks allReduce, broadcast and barrier", { timeout: TEST_TIMEOUT_MS }, async () => {
  const exits = await runWorkers("collectives", rankEnvs(2, await freePort()));
  const results = exits.map(resultOf);
  for (const [rank, r] of results.entries()) {
    assert.equal(r.rank, rank);
    assert.equal(r.worldSize, 2);
    assert.deepEqual(r.sum, [3, 30, -1]); // [1, 10, 0] + [2, 20, -1]
    assert.deepEqual(r.max, [5, 7]);
    assert.deepEqual(r.min, [2, -1]);
    assert.deepEqual(r.product, [6, 12]); // [2, 3] * [3, 4]
    assert.deepEqual(r.avg, [1, 4, 1]); // ([0, 4, 0.5] + [2, 4, 1.5]) / 2
    assert.deepEqual(r.avgLeaf, [1, 2]); // ([0, 2] + [2, 2]) / 2, on a leaf that requires grad
    assert.deepEqual(r.intSum, [3, 200]);
    assert.equal(r.intSumDtype, "int64");
    assert.deepEqual(r.broadcast, [1, 107]); // rank 1's [1, 107]
    const errors = r.errors as Record<string, string>;
    assert.match(errors.nonContiguous!, /contiguous.*t\.contiguous\(\)/);
    assert.match(errors.avgOfInts!, /'avg' needs a floating-point tensor, this one is int32/);
    assert.match(errors.badOp!, /op must be one of sum, product, min, max, avg, got mean/);
    assert.match(errors.badRoot!, /root must be an integer in \[0, 1\], got 2/);
  }
});

test("a TCPStore set in one process is read in another", { timeout: TEST_TIMEOUT_MS }, async () => {
  const exits = await runWorkers("store", rankEnvs(2, await freePort()));
  const [r0, r1] = exits.map(resultOf);
  assert.deepEqual(r1, { rank: 1, got: "hello from rank 0 ✓" });
  assert.deepEqual(r0, { rank: 0, got: "rank 1 read: hello from rank 0 ✓" });
});

test("a bad RANK from the environment fails with a clear error", { timeout: TEST_TIMEOUT_MS }, async () => {
  const env = { ...rankEnvs(2, await freePort())[0]!, RANK: "2" };
  const [exit] = await runWorkers("init", [env]);
  assert.notEqual(exit!.code, 0);
  assert.match(exit!.stderr, /initProcessGroup: rank must be an integer in \[0, 1\], got 2/);
  assert.doesNotMatch(exit!.stdout, /RESULT/);
});

test("bad arguments are rejected before anything connects", () => {
  const base = { masterAddr: "127.0.0.1", masterPort: 29500 };
  assert.throws(() => initProcessGroup({ ...base, rank: 2, worldSize: 2 }), {
    name: "RangeError",
    message: /rank must be an integer in \[0, 1\], got 2; ranks number the 2 process\(es\) from 0/,
  });
  assert.throws(() => initProcessGroup({ ...base, rank: -1, worldSize: 2 }), /rank must be an integer/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0.5, worldSize: 2 }), /rank must be an integer/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0, worldSize: 0 }), /worldSize must be an integer in \[1,/);
  assert.throws(() => initProcessGroup({ ...base, rank: 0, worldSize: 1, masterPort: 70000 }), {
    name: "RangeError",
    message: /port must be an integer in \[1, 65535\], got 70000/,
  });
  assert.throws(
    () => new TCPStore({ host: "127.0.0.1", port: 0, isServer: true, worldSize: 1 }),
    /TCPStore: port must be an integer in \[1, 65535\], got 0/,
  );
  assert.throws(
    () => new TCPStore({ host: "", port: 29500, isServer: true, worldSize: 1 }),
    /TCPStore: host must be a non-empty host name/,
  );
  assert.throws(
    () => ProcessGroup.gloo({ store: {} as TCPStore, rank: 0, worldSize: 1 }),
    /ProcessGroup.gloo: store must be a TCPStore/,
  );
});

test("initProcessGroup names the missing environment variable", () => {
  const saved = { RANK: process.env.RANK, WORLD_SIZE: process.env.WORLD_SIZE, MASTER_PORT: process.env.MASTER_PORT };
  try {
    delete process.env.WORLD_SIZE;
    assert.throws(() => initProcessGroup({ rank: 0 }), /worldSize was not given and the WORLD_SIZE environment/);
    process.env.WORLD_SIZE = "2";
    process.env.RANK = "one";
    assert.throws(() => initProcessGroup({ masterAddr: "127.0.0.1", masterPort: 1 }), /RANK .* integer, got 'one'/);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
