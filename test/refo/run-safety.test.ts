// What keeps a `facekd refo` run from ending silently wrong, through the command line on tiny external data: the
// config's threads reach every stage (also an evaluation rerun alone) and results.json records them; a deleted or
// changed output reruns its stage and what reads it, and --only refuses before deleting anything; inputs count by
// content (a pack replaced in place reruns exactly the stages that read it); a locked run folder is refused; and
// the checks before the first stage name the file, line and key of every problem.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { readResults } from "../../src/report/index.js";
import { TINY_RUN, TINY_SYNTHETIC } from "./tiny-synthetic.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const HOLDER = fileURLToPath(new URL("./hold-run-lock.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../../../test/fixtures", import.meta.url));
// libtorch's default here is 2 threads; the config asks for 1, which every stage must use
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8", env: { ...process.env, FACEKD_THREADS: "2" } });

const SAFE = {
  name: "safe",
  seed: 1,
  threads: 1,
  workers: 0,
  checkpointEvery: 2,
  data: { labeled: "a/train/train.rec", unlabeled: "d2/unlabeled.rec", verification: ["packs/pairs.bin"] },
  embeddingSize: 16,
  teacher: { model: "mbf-w0.5@32", steps: 4, batchSize: 12 },
  student: { model: "mbf-w0.25@32", steps: 4, batchSize: 12 },
  refoPlus: { enabled: false },
  baselines: [],
  evaluation: { idSample: 30, idRepetitions: 3, batchSize: 32 },
};

let root: string;
let runDir: string;
let config: string;

function writeConfig(name: string, value: unknown): string {
  const file = join(root, `${name}.yaml`);
  writeFileSync(file, stringify(value));
  return file;
}

function synth(dir: string, seed: number): void {
  const r = cli(
    ...["data", "synth", dir, "--identities", "6", "--images", "6", "--unlabeled-identities", "6"],
    ...["--unlabeled-images", "6", "--pairs", "20", "--size", "32", "--seed", String(seed)],
  );
  assert.equal(r.status, 0, r.stderr);
}

const statuses = (configFile: string): Record<string, string> => {
  const r = cli("refo", "--config", configFile, "--run-dir", runDir, "--dry-run", "--json");
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(
    (JSON.parse(r.stdout).plan as { id: string; status: string }[]).map((s) => [s.id, s.status]),
  );
};
const notDone = (plan: Record<string, string>) =>
  Object.entries(plan)
    .filter(([, status]) => status !== "done")
    .map(([id, status]) => `${id}:${status}`);

before(() => {
  root = mkdtempSync(join(tmpdir(), "facekd-safety-"));
  runDir = join(root, "run");
  for (const [name, seed] of [
    ["a", 0],
    ["b", 1],
  ] as const)
    synth(join(root, name), seed);
  mkdirSync(join(root, "packs"));
  cpSync(join(root, "a", "pairs.bin"), join(root, "packs", "pairs.bin"));
  cpSync(join(root, "a", "unlabeled"), join(root, "d2"), { recursive: true });
  config = writeConfig("safe", SAFE);
});
after(() => rmSync(root, { recursive: true, force: true }));

test("every stage runs with the config's threads, an evaluation rerun alone too, and results.json says so", () => {
  const first = cli("refo", "--config", config, "--run-dir", runDir);
  assert.equal(first.status, 0, first.stderr);
  const results = readResults(runDir);
  assert.equal(results.engine?.threads, 1);
  assert.match(results.engine!.libtorch, /^\d+\.\d+/);
  assert.deepEqual(
    results.models.map((m) => m.threads),
    results.models.map(() => 1),
  );

  rmSync(join(runDir, "stages", "eval.teacher-refo", "eval.json"));
  const again = cli("refo", "--config", config, "--run-dir", runDir);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /eval\.teacher-refo: .*\(rerun: stages\/eval\.teacher-refo\/eval\.json is missing\)/);
  assert.doesNotMatch(again.stderr, /\] (student|teacher)-[a-z-]+: /, "no training stage ran");
  assert.equal(readResults(runDir).models.find((m) => m.id === "teacher-refo")!.threads, 1);
});

test("a deleted model reruns its stage and what reads it; --only refuses first, deleting nothing", () => {
  rmSync(join(runDir, "stages", "teacher-standard", "model.safetensors"));
  const dry = cli("refo", "--config", config, "--run-dir", runDir, "--dry-run");
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /teacher-standard +outputs-changed .*model\.safetensors is missing/);
  // S''s distillation error is measured through the standard teacher: its evaluation reads it too
  assert.deepEqual(notDone(statuses(config)), [
    "teacher-standard:outputs-changed",
    "eval.student-labels:invalidated",
    "eval.teacher-standard:invalidated",
    "results:forced",
  ]);
  const evalFile = join(runDir, "stages", "eval.teacher-standard", "eval.json");
  const only = cli("refo", "--config", config, "--run-dir", runDir, "--only", "eval.teacher-standard");
  assert.equal(only.status, 1);
  assert.match(
    only.stderr,
    /--only eval\.teacher-standard: run the stages it needs first \(teacher-standard: .*missing/,
  );
  assert.ok(existsSync(evalFile), "--only deleted nothing");

  const rerun = cli("refo", "--config", config, "--run-dir", runDir);
  assert.equal(rerun.status, 0, rerun.stderr);
  assert.ok(existsSync(join(runDir, "stages", "teacher-standard", "model.safetensors")));
  assert.deepEqual(notDone(statuses(config)), ["results:forced"]);
});

test("inputs count by content: a pack replaced in place reruns exactly the stages that read it", () => {
  cpSync(join(root, "b", "pairs.bin"), join(root, "packs", "pairs.bin"));
  const plan = statuses(config);
  assert.deepEqual(
    notDone(plan),
    Object.keys(plan)
      .filter((id) => id.startsWith("eval.") || id === "results")
      .map((id) => `${id}:${id === "results" ? "forced" : "invalidated"}`),
  );
  cpSync(join(root, "a", "pairs.bin"), join(root, "packs", "pairs.bin")); // back: the same content is done again
  assert.deepEqual(notDone(statuses(config)), ["results:forced"]);

  cpSync(join(root, "b", "unlabeled"), join(root, "d2"), { recursive: true }); // D2: read by the FO student only
  assert.deepEqual(notDone(statuses(config)), [
    "teacher-refo.embed-d2:invalidated",
    "student-fo-refo:invalidated",
    "eval.student-fo-refo:invalidated",
    "results:forced",
  ]);
});

test("a run folder in use by another process is refused, naming it", async () => {
  const holder = spawn(process.execPath, [HOLDER, runDir], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => holder.stdout.on("data", () => resolve()));
  try {
    const second = cli("refo", "--config", config, "--run-dir", runDir);
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`${runDir} is in use by process ${holder.pid} on `));
  } finally {
    holder.kill("SIGKILL");
    await new Promise((resolve) => holder.on("exit", resolve));
  }
});

test("the checks before the first stage name the file, line and key of every problem, and nothing runs", () => {
  mkdirSync(join(root, "a-folder"));
  writeFileSync(join(root, "not-a-folder"), "");
  const bad = writeConfig("bad", {
    ...SAFE,
    runDir: "not-a-folder/run",
    data: { ...SAFE.data, verification: ["a-folder", join(FIXTURES, "insightface", "pairs_py3.bin")] },
    teacher: { ...SAFE.teacher, model: "mbf", pretrained: join(FIXTURES, "mbf_backbone.pth") },
    student: { ...SAFE.student, batchSize: 1000 },
  });
  for (const dryRun of [["--dry-run"], []]) {
    const r = cli("refo", "--config", bad, ...dryRun);
    assert.equal(r.status, 1, r.stdout);
    const line = (key: string) => new RegExp(`bad\\.yaml:\\d+: ${key.replace(/[.[\]]/g, "\\$&")}: `);
    assert.match(r.stderr, line("runDir"));
    assert.match(r.stderr, /runDir: .*not-a-folder, a folder above .*not-a-folder\/run, is a file/);
    assert.match(
      r.stderr,
      /data\.verification\[0\]: .*a-folder is a folder, but this key names a \.bin verification pack/,
    );
    assert.match(r.stderr, /data\.verification\[1\]: .*pairs_py3\.bin holds 7 pairs, .*10 folds .*10 pairs or more/);
    assert.match(
      r.stderr,
      /teacher\.pretrained: cannot load .*mbf_backbone\.pth as teacher\.model 'mbf' with embeddingSize 16/,
    );
    assert.match(r.stderr, /student\.batchSize: is 1000, more than the 36 images of D1/);
  }
  assert.equal(readFileSync(join(root, "not-a-folder"), "utf8"), "", "nothing was written");
});

test("a synthetic ID set too small for TwoNN is refused before anything runs, naming data.synthetic.idIdentities", () => {
  const config = writeConfig("small-id-set", {
    ...TINY_RUN,
    runDir: join(root, "small-id-set"),
    data: { synthetic: { ...TINY_SYNTHETIC.synthetic, idIdentities: 3 } },
  });
  const r = cli("refo", "--config", config, "--dry-run");
  assert.equal(r.status, 1, r.stdout);
  assert.match(
    r.stderr,
    /data\.synthetic\.idIdentities: gives 3 samples \(3 in the ID set\) for TwoNN, which needs at least 6/,
  );
  assert.ok(!existsSync(join(root, "small-id-set")), "nothing was written");
});
