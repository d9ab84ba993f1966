import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import onnxProto from "onnx-proto";
import * as torch from "../../src/torch/index.js";
import { createModel, exportOnnx, loadBackbone, type Backbone } from "../../src/models/index.js";
import { checkWithOnnxChecker, maxAbsDiff, randomizeBatchNorms, runOnnx } from "../helpers/onnx.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "facekd-onnx-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

const decode = (file: string): onnxProto.onnx.ModelProto => onnxProto.onnx.ModelProto.decode(readFileSync(file));
const opTypes = (file: string): string[] => decode(file).graph!.node!.map((n) => n.opType!);
const count = (ops: string[], op: string): number => ops.filter((o) => o === op).length;

/** onnxruntime's embeddings of random batches of 1 and 7 against the model's eval-mode forward. */
async function maxDifference(model: Backbone, file: string, batches = [1, 7]): Promise<number> {
  const size = model.spec.inputSize;
  let worst = 0;
  for (const batch of batches) {
    const input = torch.keep(torch.randn([batch, 3, size, size]));
    const expected = torch.keep(torch.noGrad(() => model.forward(input)));
    const got = await runOnnx(file, input);
    assert.deepEqual(got.shape, [batch, model.embeddingSize]);
    worst = Math.max(worst, maxAbsDiff(got, expected));
    for (const t of [input, expected, got]) t.dispose();
  }
  return worst;
}

describe("exportOnnx", () => {
  // one model of each family, with trained-looking batch norms; mbf also with the arcface_torch fixture's weights
  const cases: [string, () => Backbone, number][] = [
    ["iresnet18-w0.25@56", () => createModel("iresnet18-w0.25@56"), 8],
    ["mbf-w0.25@48", () => createModel("mbf-w0.25@48"), 0],
    ["mobilenetv2-w0.5@56", () => createModel("mobilenetv2-w0.5@56"), 0],
    ["mbf (arcface_torch fixture)", () => loadBackbone("mbf", path.join(root, "test/fixtures/mbf_backbone.pth")), 0],
  ];
  for (const [name, make, batchNorms] of cases) {
    test(`${name}: onnxruntime-node equals facekd's eval output within 1e-4 at batch 1 and 7`, async (t) => {
      torch.manualSeed(1);
      const model = make();
      try {
        if (!name.includes("fixture")) randomizeBatchNorms(model);
        model.eval();
        const file = tmp(`${model.spec.name}.onnx`);
        const result = exportOnnx(model, file);
        assert.equal(result.opset, 13);
        const diff = await maxDifference(model, file);
        t.diagnostic(`max abs difference ${diff}`);
        assert.ok(diff < 1e-4, `max abs difference ${diff}`);
        // every BatchNorm after a convolution or linear layer is folded; IResNet blocks keep their leading one
        const ops = opTypes(file);
        assert.equal(count(ops, "BatchNormalization"), batchNorms);
        const convs = model.namedModules().filter(([, m]) => m instanceof torch.nn.Conv2d).length;
        assert.equal(count(ops, "Conv"), convs);
        checkWithOnnxChecker(file);
        // PReLUs as depthwise convolutions for onnxruntime: the same embeddings, no PRelu node left
        const convsFile = tmp(`${model.spec.name}.prelu-convs.onnx`);
        exportOnnx(model, convsFile, { prelu: "convs" });
        const convsDiff = await maxDifference(model, convsFile);
        assert.ok(convsDiff < 1e-4, `prelu "convs": max abs difference ${convsDiff}`);
        const convsOps = opTypes(convsFile);
        assert.equal(count(convsOps, "PRelu"), 0);
        assert.equal(count(convsOps, "Conv"), convs + 2 * count(ops, "PRelu"));
        checkWithOnnxChecker(convsFile);
      } finally {
        model.dispose();
      }
    });
  }

  test("a dynamic batch axis, the preprocessing and embedding size in metadata_props", () => {
    const model = createModel("mbf-w0.25@48", { embeddingSize: 64 });
    try {
      const file = tmp("meta.onnx");
      exportOnnx(model, file);
      const m = decode(file);
      const dims = (v: onnxProto.onnx.IValueInfoProto): (string | number)[] =>
        v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
      assert.deepEqual(dims(m.graph!.input![0]!), ["batch", 3, 48, 48]);
      assert.deepEqual(dims(m.graph!.output![0]!), ["batch", 64]);
      const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
      assert.equal(meta["facekd.model"], "mbf-w0.25@48");
      assert.equal(meta["input.color"], "RGB");
      assert.equal(meta["input.layout"], "NCHW");
      assert.equal(meta["input.size"], "48x48");
      assert.equal(meta["input.mean"], "127.5");
      assert.equal(meta["input.std"], "127.5");
      assert.equal(meta["embedding.size"], "64");
      assert.equal(JSON.parse(meta["facekd.spec"]!).embeddingSize, 64);
    } finally {
      model.dispose();
    }
  });

  test("a fixed batch, another opset, float16 weights: accepted by the checker, run by onnxruntime", async () => {
    const model = createModel("iresnet18-w0.25@56");
    try {
      randomizeBatchNorms(model);
      const fixed = tmp("fixed.onnx");
      exportOnnx(model, fixed, { batch: 7, opset: 11 });
      const m = decode(fixed);
      assert.equal(Number(m.graph!.input![0]!.type!.tensorType!.shape!.dim![0]!.dimValue), 7);
      assert.equal(Number(m.opsetImport[0]!.version), 11);
      checkWithOnnxChecker(fixed);
      assert.ok((await maxDifference(model, fixed, [7])) < 1e-4);

      const half = tmp("fp16.onnx");
      exportOnnx(model, half, { fp16: true, opset: 17 });
      checkWithOnnxChecker(half);
      const halfModel = decode(half);
      assert.ok(halfModel.graph!.initializer!.every((t) => t.dataType === onnxProto.onnx.TensorProto.DataType.FLOAT16));
      assert.deepEqual(opTypes(half).slice(0, 1), ["Cast"]);
      // float16 arithmetic: near the float32 result relative to its size
      const input = torch.keep(torch.randn([3, 3, 56, 56]));
      const expected = torch.keep(torch.noGrad(() => model.forward(input)));
      const got = await runOnnx(half, input);
      const scale = torch.tidy(() => expected.abs().max().item());
      assert.ok(maxAbsDiff(got, expected) < 2e-2 * scale, `float16: ${maxAbsDiff(got, expected)} of ${scale}`);
      for (const t of [input, expected, got]) t.dispose();
    } finally {
      model.dispose();
    }
  });

  test("options out of range are errors that say what is allowed", () => {
    const model = createModel("mbf-w0.25@48");
    try {
      assert.throws(
        () => exportOnnx(model, tmp("x.onnx"), { opset: 9 }),
        /opset must be an integer from 11 to 21, got 9/,
      );
      assert.throws(
        () => exportOnnx(model, tmp("x.onnx"), { prelu: "fused" as "op" }),
        /prelu must be one of op, convs, got fused/,
      );
      assert.throws(
        () => exportOnnx(model, tmp("x.onnx"), { batch: 0 }),
        /batch must be 'dynamic' or a positive integer/,
      );
    } finally {
      model.dispose();
    }
  });
});
