// The IJB protocol end to end on a tiny release in the official layout (helpers/ijb-release.ts). The library and
// the command must agree with the protocol computed here by hand: the model's own forward on each aligned face and
// its mirror, JS pooling, cosine, TAR by counting.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { alignFace, decodeImage, type Point } from "../../src/data/index.js";
import { createModel, saveBackbone, type Backbone } from "../../src/models/index.js";
import { readNpy } from "../../src/io/index.js";
import { evaluateIjb } from "../../src/infer/index.js";
import {
  IJB_FACES as FACES,
  IJB_PAIRS as PAIRS,
  IJB_SCORES as scores,
  IJB_TEMPLATES as TEMPLATES,
} from "../helpers/ijb-release.js";
import { writeIjbRelease } from "../helpers/ijb-release.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FARS = [0.1, 0.25, 0.5];

let dir: string;
let landmarks: Point[][];

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "facekd-ijb-"));
  landmarks = await writeIjbRelease(dir);
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
