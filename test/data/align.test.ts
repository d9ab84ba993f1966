import { test } from "node:test";
import assert from "node:assert/strict";
import type { RgbImage } from "../../src/data/codec.js";
import { estimateSimilarity, transformPoint, type AffineMatrix } from "../../src/data/align/similarity.js";
import { arcfaceTemplate, type Point } from "../../src/data/align/template.js";
import { alignFace, alignmentMatrix, warpAffine } from "../../src/data/align/warp.js";

// scale s, angle t, translation (tx, ty): (x, y) -> s R(t) (x, y) + (tx, ty)
function similarity(s: number, t: number, tx: number, ty: number): AffineMatrix {
  const a = s * Math.cos(t);
  const b = s * Math.sin(t);
  return [
    [a, -b, tx],
    [b, a, ty],
  ];
}

function residual(m: AffineMatrix, src: readonly Point[], dst: readonly Point[]): number {
  return src.reduce((sum, p, i) => {
    const [x, y] = transformPoint(m, p);
    return sum + (x - dst[i]![0]) ** 2 + (y - dst[i]![1]) ** 2;
  }, 0);
}

// a smooth pattern (bilinear resampling keeps it well) that differs in every channel and direction
function pattern(width: number, height: number): RgbImage {
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = Math.round(127.5 + 120 * Math.sin(x / 9) * Math.cos(y / 13));
      pixels[i + 1] = Math.round(127.5 + 120 * Math.sin((x + 2 * y) / 17));
      pixels[i + 2] = Math.round((255 * y) / height);
    }
  }
  return { pixels, width, height };
}

const at = (image: RgbImage, x: number, y: number, c: number): number => image.pixels[(y * image.width + x) * 3 + c]!;

test("the arcface template is insightface's for 112, scaled for 224 and 32, and shifted for 128", () => {
  const t112 = arcfaceTemplate(112);
  assert.deepEqual(t112[0], [38.2946, 51.6963]);
  assert.deepEqual(t112[4], [70.7299, 92.2041]);
  assert.deepEqual(
    arcfaceTemplate(224).map(([x, y]) => [x / 2, y / 2]),
    t112,
  );
  assert.deepEqual(
    arcfaceTemplate(128).map(([x, y]) => [x - 8, y]),
    t112.map(([x, y]) => [x, y]),
  );
  arcfaceTemplate(32).forEach(([x, y], i) => {
    assert.ok(Math.abs(x - (t112[i]![0] * 32) / 112) < 1e-12 && Math.abs(y - (t112[i]![1] * 32) / 112) < 1e-12);
  });
  assert.throws(() => arcfaceTemplate(0), /0 is not a size/);
});

test("estimateSimilarity recovers a rotation, scale and translation exactly", () => {
  const src = arcfaceTemplate(112);
  for (const truth of [similarity(1.7, 0.6, 12.5, -3.25), similarity(0.31, -2.9, -80, 40), similarity(1, 0, 0, 0)]) {
    const dst = src.map((p) => transformPoint(truth, p));
    const found = estimateSimilarity(src, dst);
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(found[r]![c]! - truth[r]![c]!) < 1e-9, `entry ${r},${c}`);
    }
  }
  assert.throws(() => estimateSimilarity(src, src.slice(1)), /same length/);
  assert.throws(
    () =>
      estimateSimilarity(
        [
          [1, 1],
          [1, 1],
        ],
        [
          [0, 0],
          [1, 1],
        ],
      ),
    /coincide/,
  );
});

test("with noisy points the answer is the least-squares similarity: every perturbation increases the residual", () => {
  const src = arcfaceTemplate(112);
  const truth = similarity(2.2, 0.4, 30, 60);
  const noise = [
    [1.3, -0.7],
    [-2.1, 0.4],
    [0.6, 1.9],
    [-0.2, -1.5],
    [0.9, 0.3],
  ];
  const dst = src.map((p, i) => {
    const [x, y] = transformPoint(truth, p);
    return [x + noise[i]![0]!, y + noise[i]![1]!] as const;
  });
  const found = estimateSimilarity(src, dst);
  const best = residual(found, src, dst);
  assert.ok(best > 1, "noisy points leave a residual");
  // the four parameters of a similarity: a = s cos, b = s sin, tx, ty
  const [[a, , tx], [b, , ty]] = found;
  for (const [da, db, dx, dy] of [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
    [1, 1, -1, 1],
  ]) {
    for (const eps of [1e-4, -1e-4, 0.1, -0.1]) {
      const A = a + eps * da!;
      const B = b + eps * db!;
      const perturbed: AffineMatrix = [
        [A, -B, tx + eps * dx!],
        [B, A, ty + eps * dy!],
      ];
      assert.ok(residual(perturbed, src, dst) > best, `perturbation ${[da, db, dx, dy]} x ${eps}`);
    }
  }
});

test("mirrored points get the best proper rotation, not a reflection", () => {
  const src = arcfaceTemplate(112);
  const dst = src.map(([x, y]) => [200 - 1.5 * x, 10 + 1.5 * y] as const); // a mirror image, scaled
  const found = estimateSimilarity(src, dst);
  const det = found[0][0] * found[1][1] - found[0][1] * found[1][0];
  assert.ok(det > 0, "a rotation, not a reflection");
  // brute force over the angle, with the best scale (>= 0) and translation for each
  const c = (pts: readonly Point[]): Point => [
    pts.reduce((s, p) => s + p[0], 0) / pts.length,
    pts.reduce((s, p) => s + p[1], 0) / pts.length,
  ];
  const [sx, sy] = c(src);
  const [dx, dy] = c(dst);
  const best = residual(found, src, dst);
  for (let t = 0; t < 2 * Math.PI; t += 0.005) {
    const rotated = similarity(1, t, 0, 0);
    let num = 0;
    let den = 0;
    src.forEach(([x, y], i) => {
      const [rx, ry] = transformPoint(rotated, [x - sx, y - sy]);
      num += rx * (dst[i]![0] - dx) + ry * (dst[i]![1] - dy);
      den += (x - sx) ** 2 + (y - sy) ** 2;
    });
    const s = Math.max(0, num / den);
    const [cx, cy] = transformPoint(similarity(s, t, 0, 0), [sx, sy]);
    assert.ok(residual(similarity(s, t, dx - cx, dy - cy), src, dst) >= best - 1e-9, `angle ${t}`);
  }
});

test("warpAffine follows cv2.warpAffine: pixel centres at integers, bilinear, black outside", () => {
  const image = pattern(7, 5);
  const shifted = warpAffine(image, similarity(1, 0, 2, -1), [5, 7]);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) {
      const inside = x - 2 >= 0 && y + 1 < 5;
      for (let c = 0; c < 3; c++) assert.equal(at(shifted, x, y, c), inside ? at(image, x - 2, y + 1, c) : 0);
    }
  }
  // half a pixel to the right: the mean of two neighbours; the first column blends with the black outside
  const half = warpAffine(image, similarity(1, 0, 0.5, 0), [5, 7]);
  for (let y = 0; y < 5; y++) {
    for (let c = 0; c < 3; c++) {
      assert.ok(Math.abs(at(half, 0, y, c) - at(image, 0, y, c) / 2) <= 0.5 + 1e-9);
      for (let x = 1; x < 7; x++) {
        const mean = (at(image, x - 1, y, c) + at(image, x, y, c)) / 2;
        assert.ok(Math.abs(at(half, x, y, c) - mean) <= 0.5 + 1e-9, `pixel ${x},${y},${c}`);
      }
    }
  }
});

test("alignFace undoes a known similarity: the crop comes back and the landmarks land on the template", () => {
  const crop = pattern(112, 112);
  const template = arcfaceTemplate(112);
  const placement = similarity(1.6, 0.35, 70, 20); // crop -> photo
  const photo = warpAffine(crop, placement, [240, 260]);
  const landmarks = template.map((p) => transformPoint(placement, p));
  const m = alignmentMatrix(landmarks);
  landmarks.forEach((p, i) => {
    const [x, y] = transformPoint(m, p);
    assert.ok(Math.abs(x - template[i]![0]) < 1e-9 && Math.abs(y - template[i]![1]) < 1e-9, `landmark ${i}`);
  });
  const back = alignFace(photo, landmarks);
  assert.equal(back.width, 112);
  assert.equal(back.height, 112);
  let error = 0;
  let count = 0;
  for (let y = 2; y < 110; y++) {
    for (let x = 2; x < 110; x++) {
      for (let c = 0; c < 3; c++) error += Math.abs(at(back, x, y, c) - at(crop, x, y, c));
      count += 3;
    }
  }
  assert.ok(error / count < 1.5, `mean abs error ${error / count}`);
  // a crop of another size: 224 is the 112 crop at twice the scale
  const big = alignFace(photo, landmarks, 224);
  assert.ok(Math.abs(at(big, 100, 120, 1) - at(crop, 50, 60, 1)) <= 4);
  assert.throws(() => alignFace(photo, landmarks.slice(0, 4)), /five finite/);
});
