// Checksums of stage outputs and content fingerprints of inputs: a missing or changed output is found, large files
// are sampled (and still change with their sampled bytes), a pack's fingerprint follows its content and its
// .idx and property files, not its path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashFile, inputFingerprint } from "../../src/io/index.js";
import { StageFolders } from "../../src/refo/stage-state.js";

const folder = () => mkdtempSync(join(tmpdir(), "facekd-state-"));

test("small files are hashed whole; files above 64 MiB by sampled blocks, or whole in full mode", () => {
  const dir = folder();
  const small = join(dir, "small.bin");
  writeFileSync(small, "hello");
  assert.deepEqual(hashFile(small, "sampled"), {
    size: 5,
    sha256: createHash("sha256").update("hello").digest("hex"),
    sampled: false,
  });
  const large = join(dir, "large.bin");
  const fd = openSync(large, "w");
  ftruncateSync(fd, 65 * 2 ** 20); // sparse: zeros
  closeSync(fd);
  const sampled = hashFile(large, "sampled");
  assert.equal(sampled.sampled, true);
  const full = hashFile(large, "full");
  assert.equal(full.sampled, false);
  assert.equal(
    full.sha256,
    createHash("sha256")
      .update(Buffer.alloc(65 * 2 ** 20))
      .digest("hex"),
  );
  const poke = (offset: number) => {
    const f = openSync(large, "r+");
    writeSync(f, Buffer.from([1]), 0, 1, offset);
    closeSync(f);
  };
  poke(65 * 2 ** 20 - 1); // inside the last sampled block
  assert.notEqual(hashFile(large, "sampled").sha256, sampled.sha256);
  assert.notEqual(hashFile(large, "full").sha256, full.sha256);
});

test("a finished stage lists its outputs (not its checkpoints); a missing or changed output is reported", () => {
  const runDir = folder();
  const folders = new StageFolders(runDir);
  const marker = folders.start("s", "fp1");
  assert.equal(folders.status("s", "fp1"), "resume");
  mkdirSync(join(folders.dir("s"), "checkpoints"));
  writeFileSync(join(folders.dir("s"), "checkpoints", "last.safetensors"), "ckpt");
  writeFileSync(join(folders.dir("s"), "model.safetensors"), "weights");
  writeFileSync(join(folders.dir("s"), "eval.json"), "{}");
  folders.finish(marker, 1);
  assert.deepEqual(
    folders.marker("s")!.outputs!.map((o) => o.path),
    ["stages/s/eval.json", "stages/s/model.safetensors"],
  );
  assert.deepEqual(folders.check("s", "fp1"), { status: "done", changed: [] });
  assert.equal(folders.status("s", "fp2"), "invalidated");

  writeFileSync(join(folders.dir("s"), "checkpoints", "last.safetensors"), "other"); // not an output
  assert.equal(folders.status("s", "fp1"), "done");
  writeFileSync(join(folders.dir("s"), "model.safetensors"), "weighs!"); // same size, other bytes
  assert.deepEqual(folders.check("s", "fp1"), {
    status: "outputs-changed",
    changed: ["stages/s/model.safetensors changed (its checksum differs)"],
  });
  writeFileSync(join(folders.dir("s"), "eval.json"), "{ }");
  rmSync(join(folders.dir("s"), "model.safetensors"));
  assert.deepEqual(folders.check("s", "fp1").changed, [
    "stages/s/eval.json changed size (2 -> 3 bytes)",
    "stages/s/model.safetensors is missing",
  ]);
});

test("an input's fingerprint follows its content (pack files included), not its path", () => {
  const dir = folder();
  const pack = (name: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, "train.rec"), "records");
    writeFileSync(join(dir, name, "train.idx"), "0\t0\n");
    writeFileSync(join(dir, name, "property"), "2,112,112");
    return join(dir, name, "train.rec");
  };
  const [a, b] = [pack("a"), pack("b")];
  assert.equal(inputFingerprint(a, "sampled"), inputFingerprint(b, "sampled"), "same content elsewhere");
  assert.equal(inputFingerprint(a, "full"), inputFingerprint(b, "full"));
  writeFileSync(join(dir, "b", "property"), "3,112,112");
  assert.notEqual(inputFingerprint(a, "sampled"), inputFingerprint(b, "sampled"), "the property file counts");
  writeFileSync(join(dir, "b", "property"), "2,112,112");
  writeFileSync(join(dir, "b", "train.rec"), "recordz"); // replaced in place, same size
  assert.notEqual(inputFingerprint(a, "sampled"), inputFingerprint(b, "sampled"));

  const faces = join(dir, "faces");
  mkdirSync(join(faces, "alice"), { recursive: true });
  writeFileSync(join(faces, "alice", "1.jpg"), "jpeg");
  const before = inputFingerprint(faces, "sampled");
  writeFileSync(join(faces, "alice", "2.jpg"), "jpeg");
  assert.notEqual(inputFingerprint(faces, "sampled"), before, "a folder's new file counts");
});
