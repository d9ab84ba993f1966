// The IJB release reader on small meta files in the official formats: what it reads, and an error naming the file
// and line for each kind of bad line.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ijbLandmarks, readIjbRelease, type IjbTarget } from "../../src/data/ijb.js";
import { tempDir } from "./helpers.js";

const root = tempDir("ijb-meta");

const FACES = ["1.jpg 10 20 30 20.5 20 30 12 40 28 40.25 0.98", "2.jpg 11 21 31 21 21 31 13 41 29 41 0.5", ""];
const TEMPLATES = ["1.jpg 7 100", "2.jpg 8 101"];
const PAIRS = ["7 8 0", "8 8 1"];

let made = 0;

/** A release folder with the given meta lines (and every image of the default faces); returns its path. */
function release(
  { faces = FACES, templates = TEMPLATES, pairs = PAIRS }: Partial<Record<string, string[]>>,
  target: IjbTarget = "IJBC",
): string {
  const dir = path.join(root, `r${made++}`);
  mkdirSync(path.join(dir, "meta"), { recursive: true });
  mkdirSync(path.join(dir, "loose_crop"));
  const prefix = target.toLowerCase();
  writeFileSync(path.join(dir, "meta", `${prefix}_name_5pts_score.txt`), faces.join("\n"));
  writeFileSync(path.join(dir, "meta", `${prefix}_face_tid_mid.txt`), templates.join("\r\n"));
  writeFileSync(path.join(dir, "meta", `${prefix}_template_pair_label.txt`), pairs.join("\n"));
  for (const name of ["1.jpg", "2.jpg"]) writeFileSync(path.join(dir, "loose_crop", name), "");
  return dir;
}

test("readIjbRelease reads the three meta files in order (blank lines and CRLF allowed)", () => {
  const r = readIjbRelease(release({}));
  assert.deepEqual(r.images, ["1.jpg", "2.jpg"]);
  assert.deepEqual(ijbLandmarks(r, 0), [
    [10, 20],
    [30, 20.5],
    [20, 30],
    [12, 40],
    [28, 40.25],
  ]);
  assert.deepEqual(Array.from(r.detectorScores), [Math.fround(0.98), 0.5]);
  assert.deepEqual(Array.from(r.templateIds), [7, 8]);
  assert.deepEqual(Array.from(r.mediaIds), [100, 101]);
  assert.deepEqual(Array.from(r.pairs.first), [7, 8]);
  assert.deepEqual(Array.from(r.pairs.second), [8, 8]);
  assert.deepEqual(Array.from(r.pairs.same), [0, 1]);
  const b = readIjbRelease(release({}, "IJBB"), "IJBB");
  assert.equal(b.files.faces.endsWith(path.join("meta", "ijbb_name_5pts_score.txt")), true);
  assert.throws(() => readIjbRelease(release({}, "IJBB"), "IJBC"), /ijbc_name_5pts_score\.txt: not found/);
});

test("every bad meta line is an error naming its file and line", () => {
  const cases: [Partial<Record<string, string[]>>, RegExp][] = [
    [{ faces: [FACES[0]!, "2.jpg 11 21 31 21 21 31 13 41 29 0.5"] }, /5pts_score\.txt:2: expected 12 fields/],
    [{ faces: [FACES[0]!, "2.jpg 11 21 31 21 x 31 13 41 29 41 0.5"] }, /5pts_score\.txt:2: the landmark 'x' is not/],
    [{ faces: [FACES[0]!, "2.jpg 11 21 31 21 21 31 13 41 29 41 1e999"] }, /5pts_score\.txt:2: the detector score/],
    [{ templates: ["1.jpg 7 100", "3.jpg 8 101"] }, /tid_mid\.txt:2: image '3\.jpg' but face 2 .* is '2\.jpg'/],
    [{ templates: ["1.jpg 7 100"] }, /tid_mid\.txt: 1 faces but .*5pts_score\.txt lists 2/],
    [{ templates: ["1.jpg 7 100", "2.jpg 8.5 101"] }, /tid_mid\.txt:2: the template id '8\.5' is not a valid number/],
    [{ templates: ["1.jpg 7 100", "2.jpg 8 -1"] }, /tid_mid\.txt:2: the media id '-1'/],
    [{ pairs: ["7 8 0", "8 8 2"] }, /pair_label\.txt:2: the label '2' is not 0 or 1/],
    [{ pairs: ["7 9 0"] }, /pair_label\.txt:1: template 9 has no face in .*tid_mid\.txt/],
    [{ pairs: ["7 8"] }, /pair_label\.txt:1: expected 3 fields/],
    [{ pairs: [""] }, /pair_label\.txt: no lines/],
    [
      { faces: [FACES[0]!, FACES[1]!.replace("2.jpg", "gone.jpg")], templates: ["1.jpg 7 100", "gone.jpg 8 101"] },
      /5pts_score\.txt:2: the image .*gone\.jpg does not exist/,
    ],
  ];
  for (const [files, message] of cases) assert.throws(() => readIjbRelease(release(files)), message);
  assert.throws(() => readIjbRelease(root, "IJBA" as IjbTarget), /IJB target 'IJBA': use IJBC or IJBB/);
});
