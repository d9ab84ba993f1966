import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import {
  createModel,
  exportOnnx,
  findFittingOnnxModels,
  loadBackbone,
  OnnxMismatchError,
} from "../../src/models/index.js";
import { maxAbsDiff, randomizeBatchNorms } from "../helpers/onnx.js";
import { readNpy } from "../../src/io/index.js";

// made by scripts/fixtures/make_onnx_fixtures.py with PyTorch's torch.onnx.export
const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/onnx/${name}`, import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "facekd-onnx-import-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

describe("loadBackbone(name, 'x.onnx')", () => {
  const cases = [
    ["iresnet18-w0.125@32", "iresnet18-w0.125@32.onnx"],
    ["mbf-w0.125@32", "mbf-w0.125@32.onnx"],
    ["mbf-w0.125@32", "mbf-w0.125@32.opset13.onnx"],
  ] as const;
  for (const [name, file] of cases) {
    test(`${file} (PyTorch export): PyTorch's embeddings within 1e-4`, () => {
      const model = loadBackbone(name, fixture(file), { embeddingSize: 64 }).eval();
      try {
        torch.tidy(() => {
          const expected = readNpy(fixture(`${name}.embedding.npy`));
          const got = torch.noGrad(() => model.forward(readNpy(fixture("input.npy"))));
          assert.deepEqual(got.shape, [3, 64]);
          assert.ok(maxAbsDiff(got, expected) < 1e-4, `max abs difference ${maxAbsDiff(got, expected)}`);
        });
      } finally {
        model.dispose();
      }
    });
  }

  test("an imported teacher trains: every trainable parameter gets a gradient, and a step changes the output", () => {
    const model = loadBackbone("mbf-w0.125@32", fixture("mbf-w0.125@32.onnx"), { embeddingSize: 64 });
    try {
      torch.tidy(() => {
        const x = readNpy(fixture("input.npy"));
        const before = torch.noGrad(() => model.eval().forward(x));
        model.train().forward(x).square().sum().backward();
        const params = model.parameters().filter((p) => p.requiresGrad);
        assert.ok(params.every((p) => p.grad !== null));
        torch.noGrad(() => params.forEach((p) => p.sub_(p.grad!.mul(1e-3))));
        const after = torch.noGrad(() => model.eval().forward(x));
        assert.ok(maxAbsDiff(before, after) > 1e-4);
      });
    } finally {
      model.dispose();
    }
  });

  test("facekd's own export imports back, batch norms folded forward and backward included", () => {
    for (const name of ["iresnet18-w0.25@56", "mbf-w0.25@48", "mobilenetv2-w0.5@56"]) {
      torch.manualSeed(2);
      const model = createModel(name);
      randomizeBatchNorms(model);
      const file = path.join(dir, `${name}.onnx`);
      exportOnnx(model, file);
      const back = loadBackbone(name, file).eval();
      try {
        torch.tidy(() => {
          const x = torch.randn([2, 3, model.spec.inputSize, model.spec.inputSize]);
          const diff = maxAbsDiff(
            torch.noGrad(() => back.forward(x)),
            torch.noGrad(() => model.forward(x)),
          );
          assert.ok(diff < 1e-4, `${name}: max abs difference ${diff}`);
        });
      } finally {
        model.dispose();
        back.dispose();
      }
    }
  });

  test("a file of another model: an error naming the first node that does not match and the models it fits", () => {
    assert.throws(
      () => loadBackbone("iresnet18-w0.125@32", fixture("mbf-w0.125@32.onnx"), { embeddingSize: 64 }),
      (error: OnnxMismatchError) => {
        assert.equal(error.name, "OnnxMismatchError");
        assert.equal(error.node, "Conv '/layers.0/layers/layers.0/Conv'");
        assert.match(error.message, /mbf-w0\.125@32\.onnx: node Conv '\/layers\.0\/layers\/layers\.0\/Conv' does not/);
        assert.match(error.message, /does not match iresnet18-w0\.125@32 \(embeddingSize 64\)/);
        assert.match(error.message, /the file fits 'mbf-w0\.125@32': load it under that name/);
        return true;
      },
    );
    // the right family with the wrong embedding size: the error says which size fits
    assert.throws(
      () => loadBackbone("mbf-w0.125@32", fixture("mbf-w0.125@32.onnx")),
      /node MatMul '\/features\/layers\/layers\.2\/MatMul' does not match mbf-w0\.125@32 \(embeddingSize 512\)\n.*fits 'mbf-w0\.125@32' with embeddingSize 64/,
    );
    assert.throws(
      () => loadBackbone("mbf", fixture("other-nhwc.onnx")),
      /node Transpose '\/Transpose' does not match mbf .*\n {2}no registered model fits it \(iresnet18, .*mbf.*\).*teacher\.onnx/,
    );
    assert.deepEqual(findFittingOnnxModels(fixture("iresnet18-w0.125@32.onnx")), [
      { name: "iresnet18-w0.125@32", embeddingSize: 64 },
    ]);
  });
});
