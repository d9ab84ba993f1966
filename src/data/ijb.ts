// The IJB-B / IJB-C 1:1 verification release, in the layout insightface's evaluation reads (IJB_release/IJBC):
// `loose_crop/` photos, and in `meta/` (ijbc_ or ijbb_ prefix) the faces (`name_5pts_score.txt`: image, five
// landmarks x1 y1 .. x5 y5, detector score), their templates and media (`face_tid_mid.txt`: image, template id,
// media id, line by line the same faces) and the template pairs (`template_pair_label.txt`: template, template,
// 1 genuine / 0 impostor). Every line is checked before any image is read.
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { decodeImage } from "./codec.js";
import { DataError, errorMessage } from "./errors.js";
import { alignFace } from "./align/warp.js";
import type { Point } from "./align/template.js";

export const IJB_TARGETS = ["IJBC", "IJBB"] as const;
export type IjbTarget = (typeof IJB_TARGETS)[number];

export interface IjbRelease {
  folder: string;
  target: IjbTarget;
  /** The three meta files' paths. */
  files: { faces: string; templates: string; pairs: string };
  /** Image files under loose_crop/, one per face, in the meta files' order. */
  images: string[];
  /** Five landmarks per face, x1 y1 .. x5 y5 in pixels of its loose crop: [faces * 10]. */
  landmarks: Float64Array;
  /** The detector's face score of each face. */
  detectorScores: Float32Array;
  templateIds: Float64Array;
  mediaIds: Float64Array;
  pairs: { first: Float64Array; second: Float64Array; same: Uint8Array };
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const ID = /^\d+$/;

// The non-blank lines of a meta file split on white space, with their 1-based line numbers
function records(file: string, fields: number, format: string): { line: number; f: string[] }[] {
  if (!existsSync(file)) {
    throw new DataError(`${file}: not found: an IJB release folder has meta/ and loose_crop/ (e.g. IJB_release/IJBC)`);
  }
  const out: { line: number; f: string[] }[] = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((text, i) => {
      const f = text.trim().split(/\s+/);
      if (f[0] === "") return;
      if (f.length !== fields)
        throw new DataError(`${file}:${i + 1}: expected ${fields} fields (${format}), found ${f.length}: '${text}'`);
      out.push({ line: i + 1, f });
    });
  if (out.length === 0) throw new DataError(`${file}: no lines (${format})`);
  return out;
}

function parse(file: string, line: number, value: string, pattern: RegExp, what: string): number {
  if (!pattern.test(value)) throw new DataError(`${file}:${line}: the ${what} '${value}' is not a valid number`);
  const n = Number(value);
  if (!Number.isFinite(n) || (pattern === ID && !Number.isSafeInteger(n)))
    throw new DataError(`${file}:${line}: the ${what} '${value}' is out of range`);
  return n;
}

/** Reads and checks the meta files of the release at `folder` (its meta/ and loose_crop/ inside). */
export function readIjbRelease(folder: string, target: IjbTarget = "IJBC"): IjbRelease {
  if (!IJB_TARGETS.includes(target)) throw new DataError(`IJB target '${target}': use IJBC or IJBB`);
  const meta = (name: string) => path.join(folder, "meta", `${target.toLowerCase()}_${name}.txt`);
  const files = { faces: meta("name_5pts_score"), templates: meta("face_tid_mid"), pairs: meta("template_pair_label") };

  const faces = records(files.faces, 12, "image x1 y1 ... x5 y5 score");
  const n = faces.length;
  const images: string[] = [];
  const landmarks = new Float64Array(n * 10);
  const detectorScores = new Float32Array(n);
  faces.forEach(({ line, f }, i) => {
    images.push(f[0]!);
    for (let k = 0; k < 10; k++) landmarks[i * 10 + k] = parse(files.faces, line, f[k + 1]!, NUMBER, "landmark");
    detectorScores[i] = parse(files.faces, line, f[11]!, NUMBER, "detector score");
  });

  const rows = records(files.templates, 3, "image template_id media_id");
  if (rows.length !== n) {
    throw new DataError(
      `${files.templates}: ${rows.length} faces but ${files.faces} lists ${n}: use one release's files`,
    );
  }
  const templateIds = new Float64Array(n);
  const mediaIds = new Float64Array(n);
  rows.forEach(({ line, f }, i) => {
    if (f[0] !== images[i]) {
      throw new DataError(
        `${files.templates}:${line}: image '${f[0]}' but face ${i + 1} of ${files.faces} is '${images[i]}': ` +
          "the two files must list the same faces in the same order",
      );
    }
    templateIds[i] = parse(files.templates, line, f[1]!, ID, "template id");
    mediaIds[i] = parse(files.templates, line, f[2]!, ID, "media id");
  });

  const known = new Set(templateIds);
  const pairLines = records(files.pairs, 3, "template_id template_id label");
  const pairs = {
    first: new Float64Array(pairLines.length),
    second: new Float64Array(pairLines.length),
    same: new Uint8Array(pairLines.length),
  };
  pairLines.forEach(({ line, f }, i) => {
    const [a, b] = [f[0]!, f[1]!].map((v) => {
      const id = parse(files.pairs, line, v, ID, "template id");
      if (!known.has(id))
        throw new DataError(`${files.pairs}:${line}: template ${id} has no face in ${files.templates}`);
      return id;
    });
    if (f[2] !== "0" && f[2] !== "1") throw new DataError(`${files.pairs}:${line}: the label '${f[2]}' is not 0 or 1`);
    pairs.first[i] = a!;
    pairs.second[i] = b!;
    pairs.same[i] = Number(f[2]);
  });

  const missing = images.findIndex((image) => !existsSync(path.join(folder, "loose_crop", image)));
  if (missing >= 0) {
    throw new DataError(
      `${files.faces}:${faces[missing]!.line}: the image ${path.join(folder, "loose_crop", images[missing]!)} ` +
        "does not exist: is the release's loose_crop/ complete?",
    );
  }
  return { folder, target, files, images, landmarks, detectorScores, templateIds, mediaIds, pairs };
}

/** The five landmarks of face `i`. */
export function ijbLandmarks(release: IjbRelease, i: number): Point[] {
  const l = release.landmarks;
  return [0, 1, 2, 3, 4].map((k) => [l[i * 10 + 2 * k]!, l[i * 10 + 2 * k + 1]!] as const);
}

/**
 * Faces start..start+count-1 decoded and aligned to size x size crops, packed back to back (NHWC uint8, as
 * imagesToTensor takes them). The photos are decoded in parallel.
 */
export async function readAlignedIjbFaces(
  release: IjbRelease,
  start: number,
  count: number,
  size: number,
): Promise<Uint8Array> {
  const frame = size * size * 3;
  const out = new Uint8Array(count * frame);
  const what = (i: number) =>
    `${path.join(release.folder, "loose_crop", release.images[i]!)} (face ${i + 1} of ${release.files.faces})`;
  const decoded = await Promise.all(
    Array.from({ length: count }, async (_, k) => {
      const file = path.join(release.folder, "loose_crop", release.images[start + k]!);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new DataError(`${what(start + k)}: cannot read (${errorMessage(error)})`);
      }
      return decodeImage(bytes, { what: what(start + k) });
    }),
  );
  decoded.forEach((image, k) => {
    try {
      out.set(alignFace(image, ijbLandmarks(release, start + k), size).pixels, k * frame);
    } catch (error) {
      throw new DataError(`${what(start + k)}: cannot align the face: ${errorMessage(error)}`);
    }
  });
  return out;
}
