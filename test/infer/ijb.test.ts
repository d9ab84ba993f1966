// The IJB protocol end to end on a tiny release in the official layout: synthetic faces placed into larger loose
// crops by known similarities (their five landmarks the arcface template carried along), a few templates and media,
// and the template pairs. The library and the command must agree with the protocol computed here by hand: the
// model's own forward on each aligned face and its mirror, JS pooling, cosine, TAR by counting.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import {
  alignFace,
  arcfaceTemplate,
  decodeImage,
  encodeJpeg,
  transformPoint,
  warpAffine,
} from "../../src/data/index.js";
import { makeIdentity } from "../../src/data/synthetic/identity.js";
import { drawBatch } from "../../src/data/synthetic/render.js";
import { createModel, saveBackbone, type Backbone } from "../../src/models/index.js";
import { readNpy } from "../../src/io/index.js";
import { evaluateIjb } from "../../src/infer/index.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FARS = [0.1, 0.25, 0.5];

// face -> (template, media): 3 identities x 2 templates; templates 11 and 31 hold two frames of one video
const FACES = [
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
];
const identityOf = (template: number) => Math.floor(template / 10) - 1;
const TEMPLATES = [11, 12, 21, 22, 31, 32];
const PAIRS = TEMPLATES.flatMap((a, i) =>
  TEMPLATES.slice(i + 1).map((b) => [a, b, +(identityOf(a) === identityOf(b))]),
);

let dir: string;
const landmarks: [number, number][][] = [];
const scores = FACES.map((_, i) => 0.55 + 0.04 * i);

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "facekd-ijb-"));
  mkdirSync(path.join(dir, "meta"));
  mkdirSync(path.join(dir, "loose_crop"));
  const requests = FACES.map(([template], i) => ({
    identity: makeIdentity(identityOf(template!), { seed: 5, difficulty: 0.3 }),
    photoSeed: 100 + i,
  }));
  const drawn = await drawBatch(requests, { size: 112, difficulty: 0.3, nuisance: 0.5 });
  const lines: string[] = [];
  for (let i = 0; i < FACES.length; i++) {
    const crop = { pixels: drawn.pixels.subarray(i * 112 * 112 * 3, (i + 1) * 112 * 112 * 3), width: 112, height: 112 };
    // the face somewhere in a larger photo: scaled 1.3-2.1, turned, moved
    const s = 1.3 + 0.08 * i;
    const t = -0.3 + 0.06 * i;
    const placement = [
      [s * Math.cos(t), -s * Math.sin(t), 30 + 3 * i],
      [s * Math.sin(t), s * Math.cos(t), 40 - 2 * i],
    ] as const;
    const photo = warpAffine(crop, placement, [300, 280]);
    writeFileSync(path.join(dir, "loose_crop", `${i + 1}.jpg`), await encodeJpeg(photo, 95));
    landmarks.push(arcfaceTemplate(112).map((p) => transformPoint(placement, p) as [number, number]));
    lines.push(`${i + 1}.jpg ${landmarks[i]!.flat().join(" ")} ${scores[i]}`);
  }
  writeFileSync(path.join(dir, "meta", "ijbc_name_5pts_score.txt"), `${lines.join("\n")}\n`);
  const tidMid = FACES.map(([template, media], i) => `${i + 1}.jpg ${template} ${media}`);
  writeFileSync(path.join(dir, "meta", "ijbc_face_tid_mid.txt"), `${tidMid.join("\n")}\n`);
  writeFileSync(path.join(dir, "meta", "ijbc_template_pair_label.txt"), PAIRS.map((p) => p.join(" ")).join("\n"));
});

function norm(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** The protocol by hand: flip-sum of the model's forward on each aligned face, pooled and scored in plain JS. */
async function byHand(model: Backbone, weighted: boolean): Promise<number[]> {
  const size = model.spec.inputSize;
  const embeddings: number[][] = [];
  for (let i = 0; i < FACES.length; i++) {
    const photo = await decodeImage(readFileSync(path.join(dir, "loose_crop", `${i + 1}.jpg`)));
    const face = alignFace(photo, landmarks[i]!, size);
    const e = torch.tidy(() =>
      torch.noGrad(() => {
        const x = torch.tensor(
          Float32Array.from(face.pixels, (p) => p / 127.5 - 1),
          { shape: [1, size, size, 3] },
        );
        const nchw = x.permute([0, 3, 1, 2]).contiguous();
        return model
          .forward(nchw)
          .add(model.forward(nchw.flip(3).contiguous()))
          .toNumbers();
      }),
    );
    embeddings.push(e.map((v) => v * (weighted ? scores[i]! : 1)));
  }
  const pooled = new Map<number, number[]>();
  for (const template of TEMPLATES) {
    const sum = new Array<number>(embeddings[0]!.length).fill(0);
    const media = new Set(FACES.filter(([t]) => t === template).map(([, m]) => m));
    for (const m of media) {
      const frames = FACES.flatMap(([t, mm], i) => (t === template && mm === m ? [embeddings[i]!] : []));
      frames.forEach((f) => f.forEach((v, k) => (sum[k]! += v / frames.length)));
    }
    pooled.set(template, norm(sum));
  }
  return PAIRS.map(([a, b]) => pooled.get(a!)!.reduce((s, v, k) => s + v * pooled.get(b!)![k]!, 0));
}

// TAR at FAR f: accept scores above the (floor(f * impostors) + 1)-th highest impostor score
function tarByHand(scoresOfPairs: number[], far: number): number {
  const genuine = scoresOfPairs.filter((_, i) => PAIRS[i]![2] === 1);
  const impostor = scoresOfPairs.filter((_, i) => PAIRS[i]![2] === 0).sort((a, b) => b - a);
  const bar = impostor[Math.floor(far * impostor.length)]!;
  return genuine.filter((s) => s > bar).length / genuine.length;
}

test("evaluateIjb and facekd eval --ijb agree with the protocol computed by hand", async () => {
  torch.setNumThreads(1);
  torch.manualSeed(3);
  const model = createModel("mbf-w0.25@32", { embeddingSize: 16 });
  model.eval();
  try {
    for (const qualityWeight of [true, false]) {
      const expected = await byHand(model, qualityWeight);
      const r = await evaluateIjb(model, dir, { qualityWeight, batchSize: 4, backend: "libtorch", fars: FARS });
      assert.equal(r.faces, FACES.length);
      assert.equal(r.templates, TEMPLATES.length);
      assert.equal(r.roc.genuineCount, 3);
      assert.equal(r.roc.impostorCount, 12);
      expected.forEach((s, i) => assert.ok(Math.abs(r.scores[i]! - s) < 1e-5, `pair ${i}: ${r.scores[i]} vs ${s}`));
      assert.deepEqual(
        r.roc.tarAtFar.map((t) => t.tar),
        FARS.map((f) => tarByHand(expected, f)),
      );
    }
    const weightedScores = await byHand(model, true);
    const unweighted = await byHand(model, false);
    assert.ok(
      weightedScores.some((s, i) => Math.abs(s - unweighted[i]!) > 1e-4),
      "the detector scores matter",
    );

    // the command, on the model saved to a file; it runs on onnxruntime (the default backend)
    const weights = path.join(dir, "model.safetensors");
    saveBackbone(weights, model);
    const out = path.join(dir, "eval");
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        [MAIN, "eval", "--model", "mbf-w0.25@32", "--embedding-size", "16", "--weights", weights, ...args],
        { encoding: "utf8", env: { ...process.env, FACEKD_THREADS: "1" } },
      );
    const cli = run("--ijb", dir, "--batch-size", "5", "--out", out, "--json");
    assert.equal(cli.status, 0, cli.stderr);
    const result = JSON.parse(cli.stdout) as {
      target: string;
      qualityWeight: boolean;
      roc: { tarAtFar: { far: number; tar: number | null }[] };
      files: string[];
    };
    assert.equal(result.target, "IJBC");
    assert.equal(result.qualityWeight, true);
    const tar = (far: number) => result.roc.tarAtFar.find((t) => t.far === far)!.tar;
    assert.equal(tar(0.1), tarByHand(weightedScores, 0.1));
    assert.equal(tar(1e-2), null, "12 impostor pairs cannot resolve FAR 1e-2");
    const saved = readNpy(path.join(out, "ijbc_scores.npy"));
    assert.deepEqual(saved.shape, [PAIRS.length]);
    const savedScores = saved.toNumbers();
    saved.dispose();
    weightedScores.forEach((s, i) => assert.ok(Math.abs(savedScores[i]! - s) < 1e-4, `saved pair ${i}`));
    assert.deepEqual(result.files.map((f) => path.basename(f)).sort(), [
      "ijbc_scores.npy",
      "results.json",
      "roc.png",
      "roc.svg",
    ]);
    const missing = run("--ijb", path.join(dir, "nowhere"));
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nowhere.meta.ijbc_name_5pts_score\.txt: not found/);
  } finally {
    model.dispose();
  }
});
