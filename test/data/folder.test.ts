import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { CorruptRecordError, DataError } from "../../src/data/errors.js";
import { openLabeledFolder, openListFile, openUnlabeledFolder } from "../../src/data/folder.js";
import { openDataset } from "../../src/data/open.js";
import { png, tempDir } from "./helpers.js";

const dir = tempDir("folder");

async function makeFolder(name: string, files: Record<string, number>): Promise<string> {
  const root = path.join(dir, name);
  for (const [file, value] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), await png(value));
  }
  mkdirSync(root, { recursive: true });
  return root;
}

test("labeled folder: identities in name order, images sorted within, non-images ignored", async () => {
  const root = await makeFolder("labeled", { "bob/2.png": 21, "bob/1.png": 20, "alice/a.png": 10, "carol/x.png": 30 });
  writeFileSync(path.join(root, "bob", "notes.txt"), "not an image");
  const source = openLabeledFolder(root);
  assert.deepEqual(source.identityNames, ["alice", "bob", "carol"]);
  assert.equal(source.numClasses, 3);
  const samples = [0, 1, 2, 3].map((i) => source.read(i));
  assert.deepEqual(
    samples.map((s) => [path.relative(root, s.key as string), s.label]),
    [
      ["alice/a.png", 0],
      ["bob/1.png", 1],
      ["bob/2.png", 1],
      ["carol/x.png", 2],
    ],
  );
  assert.equal(openDataset(root).numClasses, 3, "a folder of folders opens as labeled");
});

test("unlabeled folder: flat and nested images, label -1", async () => {
  const root = await makeFolder("unlabeled", { "a.png": 1, "sub/b.png": 2, "sub/deeper/c.jpg": 3 });
  const source = openUnlabeledFolder(root);
  assert.equal(source.length, 3);
  assert.equal(source.numClasses, null);
  assert.deepEqual(
    [0, 1, 2].map((i) => path.relative(root, source.read(i).key as string)),
    ["a.png", "sub/b.png", "sub/deeper/c.jpg"],
  );
  assert.equal(source.read(0).label, -1);
  assert.equal(openDataset(root).numClasses, null, "a folder holding images opens as unlabeled");
});

test("list file: 'path label' lines, relative to the list, paths with spaces", async () => {
  const root = await makeFolder("listed", { "my photos/one.png": 1, "two.png": 2 });
  const list = path.join(root, "list.txt");
  writeFileSync(list, "# comment\nmy photos/one.png 4\n\ntwo.png\t0\n");
  const source = openListFile(list);
  assert.equal(source.length, 2);
  assert.equal(source.numClasses, 5);
  assert.deepEqual([source.read(0).label, source.read(1).label], [4, 0]);
  assert.equal(source.read(0).image.length > 0, true);
});

test("bad input: empty folders, empty identity folders, images beside identity folders, bad list lines", async () => {
  const empty = await makeFolder("empty", {});
  assert.throws(
    () => openLabeledFolder(empty),
    (e: Error) => e instanceof DataError && /the folder is empty/.test(e.message),
  );
  assert.throws(() => openUnlabeledFolder(empty), /no images/);
  const hollow = await makeFolder("hollow", { "a/1.png": 1 });
  mkdirSync(path.join(hollow, "b"));
  assert.throws(
    () => openLabeledFolder(hollow),
    (e: Error) => e.message.startsWith(`${path.join(hollow, "b")}: identity folder 1 has no images`),
  );
  const mixed = await makeFolder("mixed", { "a/1.png": 1, "stray.png": 2 });
  assert.throws(() => openLabeledFolder(mixed), /holds 1 images directly \(e.g. stray.png\)/);
  assert.throws(() => openLabeledFolder(path.join(dir, "nowhere")), /no such folder/);

  const list = path.join(dir, "bad.txt");
  writeFileSync(list, "a.png 0\nb.png minus-one\n");
  assert.throws(
    () => openListFile(list),
    (e: Error) => e instanceof DataError && e.message.includes(`${list}: line 2`),
  );
  writeFileSync(list, "a.png 0\nb.png 7\n");
  assert.throws(() => openListFile(list, { numClasses: 5 }), /line 2 has label 7, outside the 5 identities/);
});

test("bad input: a missing or empty image file is a corrupt record naming the file", async () => {
  const root = await makeFolder("vanishing", { "a/1.png": 1, "a/2.png": 2 });
  const source = openLabeledFolder(root);
  writeFileSync(path.join(root, "a", "2.png"), "");
  assert.throws(
    () => source.read(1),
    (e: Error) => e instanceof CorruptRecordError && e.message.startsWith(path.join(root, "a", "2.png")),
  );
});
