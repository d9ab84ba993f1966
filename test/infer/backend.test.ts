import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { createModel, OnnxTeacher, type Backbone } from "../../src/models/index.js";
import { syntheticSource } from "../train/synthetic.js";
import { maxAbsDiff, randomizeBatchNorms } from "../helpers/onnx.js";
import {
  AUTO_LIBTORCH_BATCH,
  embedImages,
  forEachEmbedding,
  inferenceSpeed,
  withInferenceModel,
  type InferenceBackend,
} from "../../src/infer/index.js";

torch.setNumThreads(1);

const FAMILIES: [string, Record<string, number>][] = [
  ["mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 }],
  ["iresnet18", { widthMultiplier: 0.125, inputSize: 32, embeddingSize: 16 }],
];

async function embedWith(model: Backbone, images: Uint8Array[], backend: InferenceBackend): Promise<torch.Tensor> {
  return torch.keep(await embedImages(model, "synthetic", images, { backend, batchSize: 5, workers: 0 }));
}

describe("inference backends", () => {
  for (const [name, options] of FAMILIES) {
    test(`${name}: onnxruntime's flip-sum embeddings equal libtorch's within 1e-4, training mode restored`, async () => {
      const source = await syntheticSource({ classes: 3, perClass: 3 });
      torch.manualSeed(5);
      const model = createModel(name, options);
      try {
        randomizeBatchNorms(model);
        model.train();
        const images = source.spec().images;
        const ort = await embedWith(model, images, "onnxruntime");
        const auto = await embedWith(model, images, "auto");
        const libtorch = await embedWith(model, images, "libtorch");
        assert.deepEqual(ort.shape, [9, options.embeddingSize]);
        assert.ok(model.training, "the backbone's training mode is restored");
        const diff = maxAbsDiff(ort, libtorch);
        assert.ok(diff < 1e-4, `max abs difference ${diff}`);
        assert.ok(torch.tidy(() => libtorch.abs().max().item()) > 1e-2, "the embeddings are not all zero");
        assert.equal(maxAbsDiff(auto, ort), 0, "auto runs onnxruntime at batch 5 for a backbone that exports");
        [ort, auto, libtorch].forEach((t) => t.dispose());
      } finally {
        model.dispose();
      }
    });
  }

  test("auto: onnxruntime on an in-memory export of the current weights (closed afterwards) below batch 8", async () => {
    const model = createModel("mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 });
    try {
      let seen: OnnxTeacher | undefined;
      await withInferenceModel(model, { backend: "auto", batchSize: 1 }, async (m) => {
        assert.ok(m instanceof OnnxTeacher);
        assert.equal(m.embeddingSize, 8);
        assert.deepEqual(m.input, { inputSize: 32, layout: "NCHW", color: "RGB", mean: 127.5, std: 127.5 });
        seen = m;
      });
      await assert.rejects(async () => seen!.embed(torch.zeros([1, 3, 32, 32])), /could not run|released|session/i);
      await withInferenceModel(model, { backend: "libtorch", batchSize: 1 }, (m) =>
        Promise.resolve(assert.equal(m, model)),
      );
      // from AUTO_LIBTORCH_BATCH on, auto keeps the backbone in libtorch (bench/README.md measured it faster there)
      const large = { backend: "auto", batchSize: AUTO_LIBTORCH_BATCH } as const;
      await withInferenceModel(model, large, (m) => Promise.resolve(assert.equal(m, model)));
    } finally {
      model.dispose();
    }
  });

  test("libtorch runs on one thread while onnxruntime embeds, and gets its thread count back", async () => {
    const source = await syntheticSource({ classes: 2, perClass: 2 });
    const model = createModel("mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 });
    try {
      const seen = async (backend: InferenceBackend): Promise<number[]> => {
        const threads: number[] = [];
        await forEachEmbedding(model, source, { backend, batchSize: 2, workers: 0 }, () => {
          threads.push(torch.getNumThreads());
        });
        return threads;
      };
      await torch.withNumThreads(2, async () => {
        assert.deepEqual(await seen("onnxruntime"), [1, 1]);
        assert.equal(torch.getNumThreads(), 2);
        assert.deepEqual(await seen("libtorch"), [2, 2]);
      });
    } finally {
      model.dispose();
    }
  });

  test("inferenceSpeed measures either backend", async () => {
    const model = createModel("mbf", { widthMultiplier: 0.25, inputSize: 32, embeddingSize: 8 });
    try {
      for (const backend of ["libtorch", "onnxruntime"] as const) {
        const speed = await inferenceSpeed(model, 2, { seconds: 0.05, backend });
        assert.ok(Number.isFinite(speed) && speed > 0, `${backend}: ${speed}`);
      }
      assert.ok(model.training);
    } finally {
      model.dispose();
    }
  });
});
