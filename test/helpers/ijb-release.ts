// A tiny IJB-C release in the official layout, for tests: synthetic faces placed into larger loose crops by known
// similarities (their five landmarks the arcface template carried along), 11 faces in 6 templates of 3 identities
// (two templates with two frames of one video), every template pair, and detector scores that differ per face.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { arcfaceTemplate, encodeJpeg, transformPoint, warpAffine, type Point } from "../../src/data/index.js";
import { makeIdentity } from "../../src/data/synthetic/identity.js";
import { drawBatch } from "../../src/data/synthetic/render.js";

/** face -> [template, media] */
export const IJB_FACES = [
  [11, 1],
  [11, 1],
  [12, 2],
  [12, 3],
  [21, 4],
  [22, 5],
  [22, 6],
  [31, 7],
  [31, 7],
  [31, 8],
  [32, 9],
] as const;
const identityOf = (template: number) => Math.floor(template / 10) - 1;
export const IJB_TEMPLATES = [11, 12, 21, 22, 31, 32];
/** [template, template, 1 genuine / 0 impostor]: 3 genuine and 12 impostor pairs. */
export const IJB_PAIRS = IJB_TEMPLATES.flatMap((a, i) =>
  IJB_TEMPLATES.slice(i + 1).map((b) => [a, b, +(identityOf(a) === identityOf(b))] as const),
);
export const IJB_SCORES = IJB_FACES.map((_, i) => 0.55 + 0.04 * i);

/** Writes the release into `dir` (meta/ and loose_crop/); returns each face's landmarks. */
export async function writeIjbRelease(dir: string): Promise<Point[][]> {
  mkdirSync(path.join(dir, "meta"), { recursive: true });
  mkdirSync(path.join(dir, "loose_crop"), { recursive: true });
  const requests = IJB_FACES.map(([template], i) => ({
    identity: makeIdentity(identityOf(template), { seed: 5, difficulty: 0.3 }),
    photoSeed: 100 + i,
  }));
  const drawn = await drawBatch(requests, { size: 112, difficulty: 0.3, nuisance: 0.5 });
  const frame = 112 * 112 * 3;
  const landmarks: Point[][] = [];
  const lines: string[] = [];
  for (let i = 0; i < IJB_FACES.length; i++) {
    const crop = { pixels: drawn.pixels.subarray(i * frame, (i + 1) * frame), width: 112, height: 112 };
    // the face somewhere in a larger photo: scaled 1.3-2.1, turned, moved
    const s = 1.3 + 0.08 * i;
    const t = -0.3 + 0.06 * i;
    const placement = [
      [s * Math.cos(t), -s * Math.sin(t), 30 + 3 * i],
      [s * Math.sin(t), s * Math.cos(t), 40 - 2 * i],
    ] as const;
    const photo = warpAffine(crop, placement, [300, 280]);
    writeFileSync(path.join(dir, "loose_crop", `${i + 1}.jpg`), await encodeJpeg(photo, 95));
    landmarks.push(arcfaceTemplate(112).map((p) => transformPoint(placement, p)));
    lines.push(`${i + 1}.jpg ${landmarks[i]!.flat().join(" ")} ${IJB_SCORES[i]}`);
  }
  writeFileSync(path.join(dir, "meta", "ijbc_name_5pts_score.txt"), `${lines.join("\n")}\n`);
  const tidMid = IJB_FACES.map(([template, media], i) => `${i + 1}.jpg ${template} ${media}`);
  writeFileSync(path.join(dir, "meta", "ijbc_face_tid_mid.txt"), `${tidMid.join("\n")}\n`);
  writeFileSync(path.join(dir, "meta", "ijbc_template_pair_label.txt"), IJB_PAIRS.map((p) => p.join(" ")).join("\n"));
  return landmarks;
}
