import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { createModel, saveBackbone } from "../../src/models/index.js";
import { readSidecar } from "../../src/train/index.js";
import { writeIjbRelease } from "../helpers/ijb-release.js";
import * as torch from "../../src/torch/index.js";
import { writeNpy } from "../../src/io/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const ENV = { ...process.env, FACEKD_THREADS: "1" };
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: ENV });
const MODEL = ["--model", "mbf-w0.25@32", "--embedding-size", "16"];
/** Every process the tests started (launchers and the workers they name), killed in `after`. */
const pids = new Set<number>();
let root: string;

before(() => {
  root = mkdtempSync(path.join(tmpdir(), "facekd-cli-dist-"));
  const synth = run(
    ...["data", "synth", path.join(root, "synth"), "--identities", "4", "--images", "5"],
    ...["--unlabeled-identities", "2", "--unlabeled-images", "2", "--pairs", "100", "--size", "32"],
  );
  assert.equal(synth.status, 0, synth.stderr);
});

after(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
});

/** The worker pids a launcher names on stderr ("... (pids 12, 13) ..."). */
const workerPids = (stderr: string): number[] => (/\(pids ([\d, ]+)\)/.exec(stderr)?.[1] ?? "").split(", ").map(Number);

test("embed --nproc 2 writes the same files, bitwise, as one process", () => {
  const weights = path.join(root, "model.safetensors");
  const model = createModel("mbf-w0.25@32", { embeddingSize: 16 });
  saveBackbone(weights, model);
  model.dispose();
  const data = path.join(root, "synth", "train", "train.rec");
  // batches of 3 over 20 samples: rank 1's part of the last global batch is empty
  const common = [...MODEL, "--weights", weights, "--data", data, "--batch-size", "3", "--workers", "0"];
  const one = run("embed", ...common, "--out", path.join(root, "one.npy"));
  assert.equal(one.status, 0, one.stderr);
  const two = run("embed", ...common, "--out", path.join(root, "two.npy"), "--nproc", "2", "--dist-timeout", "60");
  assert.equal(two.status, 0, two.stderr);
  workerPids(two.stderr).forEach((p) => pids.add(p));
  assert.match(two.stdout, /N 20, D 16/);
  assert.equal((two.stdout.match(/N 20/g) ?? []).length, 1, "rank 0 alone prints");
  for (const suffix of [".npy", ".labels.npy"]) {
    const [a, b] = ["one", "two"].map((n) => readFileSync(path.join(root, `${n}${suffix}`)));
    assert.ok(a!.equals(b!), `${suffix} differs`);
  }
  assert.ok(!existsSync(path.join(root, "two.npy.partial")));
});

test("eval --nproc 2 gives one process's figures: each rank embeds a share of the pack", () => {
  const weights = path.join(root, "eval-model.safetensors");
  const model = createModel("mbf-w0.25@32", { embeddingSize: 16 });
  saveBackbone(weights, model);
  model.dispose();
  const pairs = path.join(root, "synth", "pairs.bin");
  const common = [...MODEL, "--weights", weights, "--pairs", pairs, "--batch-size", "3", "--workers", "0", "--json"];
  const one = run("eval", ...common);
  assert.equal(one.status, 0, one.stderr);
  const two = run("eval", ...common, "--nproc", "2", "--dist-timeout", "60");
  assert.equal(two.status, 0, two.stderr);
  workerPids(two.stderr).forEach((p) => pids.add(p));
  type Sets = { sets: { result: { accuracy: number; roc: { auc: number; curve: { tar: number[] } } } }[] };
  const [a, b] = [one, two].map((r) => (JSON.parse(r.stdout) as Sets).sets[0]!.result);
  assert.deepEqual([b!.accuracy, b!.roc.auc, b!.roc.curve.tar], [a!.accuracy, a!.roc.auc, a!.roc.curve.tar]);
});

test("eval --ijb --nproc 2 scores the template pairs as one process does", async () => {
  const folder = path.join(root, "IJBC");
  await writeIjbRelease(folder);
  const weights = path.join(root, "eval-model.safetensors");
  const common = [...MODEL, "--weights", weights, "--ijb", folder, "--batch-size", "2", "--json"];
  const one = run("eval", ...common);
  assert.equal(one.status, 0, one.stderr);
  const two = run("eval", ...common, "--nproc", "2", "--dist-timeout", "60");
  assert.equal(two.status, 0, two.stderr);
  workerPids(two.stderr).forEach((p) => pids.add(p));
  type Ijb = { faces: number; roc: { auc: number; tarAtFar: { tar: number | null }[] } };
  const [a, b] = [one, two].map((r) => JSON.parse(r.stdout) as Ijb);
  assert.deepEqual([b!.faces, b!.roc.auc, b!.roc.tarAtFar], [a!.faces, a!.roc.auc, a!.roc.tarAtFar]);
});

test("eval --all-vs-all --nproc 2: the ranks share the tiles, and the counts are one process's", () => {
  // 3,000 rows: two 2,048-row blocks, three tiles (the diagonal tiles on rank 0, the other on rank 1)
  const [embeddings, labels] = [path.join(root, "all.npy"), path.join(root, "all.labels.npy")];
  torch.manualSeed(6);
  torch.tidy(() => {
    const label = torch.arange(0, 3000).div(10, "floor");
    writeNpy(labels, label);
    writeNpy(
      embeddings,
      torch
        .randn([300, 8])
        .index([label])
        .add(torch.randn([3000, 8]).mul(0.8)),
    );
  });
  const common = ["eval", "--all-vs-all", "--embeddings", embeddings, "--labels", labels, "--json"];
  const one = run(...common);
  assert.equal(one.status, 0, one.stderr);
  const two = run(...common, "--nproc", "2", "--dist-timeout", "60");
  assert.equal(two.status, 0, two.stderr);
  workerPids(two.stderr).forEach((p) => pids.add(p));
  type Roc = { roc: { genuineCount: number; impostorCount: number; auc: number; tarAtFar: unknown[] } };
  const [a, b] = [one, two].map((r) => (JSON.parse(r.stdout) as Roc).roc);
  assert.deepEqual([a!.genuineCount, a!.impostorCount], [(3000 * 9) / 2, (3000 * 2999) / 2 - (3000 * 9) / 2]);
  assert.deepEqual(
    [b!.genuineCount, b!.impostorCount, b!.auc, b!.tarAtFar],
    [a!.genuineCount, a!.impostorCount, a!.auc, a!.tarAtFar],
  );
});

test("id --nproc 2: the ranks share the neighbour search, and the figures are one process's", () => {
  const file = path.join(root, "points.npy");
  // 500 points near a 5-dimensional subspace of R^16
  torch.manualSeed(4);
  torch.tidy(() =>
    writeNpy(
      file,
      torch
        .randn([500, 5])
        .mm(torch.randn([5, 16]))
        .add(torch.randn([500, 16]).mul(0.01)),
    ),
  );
  const common = ["id", file, "--sample", "500", "--json"];
  const one = run(...common);
  assert.equal(one.status, 0, one.stderr);
  const two = run(...common, "--nproc", "2", "--dist-timeout", "60");
  assert.equal(two.status, 0, two.stderr);
  workerPids(two.stderr).forEach((p) => pids.add(p));
  type Id = { mean: number; std: number; interval: { low: number; high: number }; halfSampleEstimates: number[] };
  const [a, b] = [one, two].map((r) => JSON.parse(r.stdout) as Id);
  assert.ok(a!.mean > 3 && a!.mean < 7, `a 5-dimensional cloud measured ${a!.mean}`);
  assert.deepEqual(
    [b!.mean, b!.std, b!.interval, b!.halfSampleEstimates],
    [a!.mean, a!.std, a!.interval, a!.halfSampleEstimates],
  );
});

test("train --nproc 2: a rank killed mid-run ends the job, named; the rerun resumes from the last checkpoint", async () => {
  mkdirSync(path.join(root, "configs"), { recursive: true });
  const config = path.join(root, "configs", "train.yaml");
  writeFileSync(
    config,
    `runDir: ../run
model: { name: mbf-w0.25@32, options: { embeddingSize: 16 } }
data: { path: ../synth/train/train.rec, workers: 0 }
losses: [{ name: arcface, options: { numClasses: 4, embeddingSize: 16, s: 16 } }]
optimizer: { type: sgd, lr: 0.05 }
steps: 100000
batchSize: 4
logEvery: 1
checkpointEvery: 2
`,
  );
  const args = [MAIN, "train", "--config", config, "--nproc", "2", "--dist-timeout", "20"];
  const launcher = spawn(process.execPath, args, { env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  pids.add(launcher.pid!);
  let stderr = "";
  launcher.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => launcher.on("exit", (code) => resolve(code)));
  const checkpoints = path.join(root, "run", "checkpoints");
  const deadline = Date.now() + 60_000;
  while (readSidecar(checkpoints, "last") === null) {
    assert.ok(Date.now() < deadline && launcher.exitCode === null, `no checkpoint came:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const [, rank1] = workerPids(stderr);
  pids.add(rank1!);
  process.kill(rank1!, "SIGKILL");
  const killedAt = Date.now();
  const code = await exited;
  assert.notEqual(code, 0);
  assert.ok(Date.now() - killedAt < 20_000, "the job ended within the timeout");
  assert.match(stderr, new RegExp(`rank 1 \\(pid ${rank1}\\) was killed by SIGKILL`));

  const saved = readSidecar(checkpoints, "last")!.step;
  const rerun = run("train", "--config", config, "--nproc", "2", "--steps", String(saved + 2), "--json");
  workerPids(rerun.stderr).forEach((p) => pids.add(p));
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.match(rerun.stderr, new RegExp(`resuming .* at step ${saved}/${saved + 2}`));
  assert.equal((JSON.parse(rerun.stdout) as { step: number }).step, saved + 2);
});

test("the launcher's preflight: a rendezvous port in use, an unreachable master", async () => {
  const server = net.createServer();
  const port = await new Promise<number>((resolve) =>
    server.listen(0, () => resolve((server.address() as net.AddressInfo).port)),
  );
  const embed = ["embed", ...MODEL, "--weights", "w.safetensors", "--data", "d.rec", "--out", "e.npy"];
  try {
    const busy = run(...embed, "--nproc", "2", "--master-port", String(port));
    assert.equal(busy.status, 1);
    assert.match(busy.stderr, new RegExp(`--master-port ${port} is in use on this machine`));
  } finally {
    server.close();
  }
  const node1 = ["--nnodes", "2", "--node-rank", "1", "--master-port", String(port), "--dist-timeout", "1"];
  const alone = run(...embed, ...node1);
  assert.equal(alone.status, 1);
  assert.match(alone.stderr, new RegExp(`the master 127\\.0\\.0\\.1:${port} did not answer within 1 s`));
});
