import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { createModel, exportOnnx, OnnxTeacher } from "../../src/models/index.js";

import { syntheticSource } from "../train/synthetic.js";
import { maxAbsDiff, randomizeBatchNorms } from "../helpers/onnx.js";
import { readNpy } from "../../src/io/index.js";
import { extractEmbeddings } from "../../src/infer/index.js";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/onnx/${name}`, import.meta.url));

describe("OnnxTeacher", () => {
  test("another architecture (NHWC, pixels 0..255, 40x40, 32-d): PyTorch's embeddings within 1e-4", async () => {
    const teacher = await OnnxTeacher.open(fixture("other-nhwc.onnx"), { mean: 0, std: 1 });
    try {
      assert.deepEqual(teacher.input, { inputSize: 40, layout: "NHWC", color: "RGB", mean: 0, std: 1 });
      assert.equal(teacher.embeddingSize, 32);
      const pixels = readNpy(fixture("input-nhwc.npy")); // [3, 40, 40, 3] in 0..255
      const images = torch.keep(pixels.permute([0, 3, 1, 2]).sub(127.5).div(127.5)); // facekd's batches
      const got = await teacher.embed(images);
      const diff = maxAbsDiff(got, readNpy(fixture("other-nhwc.embedding.npy")));
      assert.ok(diff < 1e-4, `max abs difference ${diff}`);
      images.dispose();
      got.dispose();
    } finally {
      await teacher.close();
    }
  });

  test("extractEmbeddings through onnxruntime equals the backbone's own, with flip-sum", async () => {
    const root = mkdtempSync(join(tmpdir(), "facekd-onnx-teacher-"));
    const source = await syntheticSource({ classes: 3, perClass: 4 });
    torch.manualSeed(4);
    const model = createModel("mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 });
    try {
      randomizeBatchNorms(model);
      exportOnnx(model, join(root, "teacher.onnx"));
      const teacher = await OnnxTeacher.open(join(root, "teacher.onnx"));
      const options = { batchSize: 5, flipSum: true, workers: 0 };
      const viaOnnx = await extractEmbeddings(teacher, source, { ...options, out: join(root, "onnx.npy") });
      await teacher.close();
      const direct = await extractEmbeddings(model, source, { ...options, out: join(root, "direct.npy") });
      assert.equal(viaOnnx.dim, 8);
      torch.tidy(() => {
        const diff = maxAbsDiff(readNpy(viaOnnx.embeddings), readNpy(direct.embeddings));
        assert.ok(diff < 1e-4, `max abs difference ${diff}`);
      });
      assert.match(readFileSync(viaOnnx.info, "utf8"), /"onnx": ".*teacher\.onnx"/);
    } finally {
      model.dispose();
      source.close?.();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
