import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  countMultiplyAdds,
  createModel,
  describeModel,
  formatModelTable,
  listModels,
  registerModel,
  resolveSpec,
  IResNet,
} from "../../src/models/index.js";

describe("model names", () => {
  test("width and input size in the name, canonical names", () => {
    assert.deepEqual(resolveSpec("iresnet18-w0.25@56"), {
      name: "iresnet18-w0.25@56",
      embeddingSize: 512,
      widthMultiplier: 0.25,
      inputSize: 56,
      dropout: 0,
    });
    assert.equal(resolveSpec("iresnet18", { widthMultiplier: 0.5, inputSize: 64 }).name, "iresnet18-w0.5@64");
    assert.equal(resolveSpec("mbf-w1@112").name, "mbf");
    assert.equal(resolveSpec("mbf_large", { embeddingSize: 256, dropout: 0.1 }).embeddingSize, 256);
    for (const name of listModels()) assert.equal(resolveSpec(name).name, name);
  });

  test("every family has CPU-sized variants", () => {
    const names = listModels();
    for (const base of ["iresnet18", "mbf", "mobilenetv2"]) {
      assert.ok(
        names.some((n) => n.startsWith(`${base}-w`)),
        `${base} width variant`,
      );
      assert.ok(
        names.some((n) => n.startsWith(base) && n.endsWith("@56")),
        `${base} 56x56 variant`,
      );
      assert.ok(
        names.some((n) => n.startsWith(base) && n.endsWith("@64")),
        `${base} 64x64 variant`,
      );
    }
  });

  test("unknown, malformed and contradictory names are explained", () => {
    assert.throws(() => createModel("resnet50"), /unknown model 'resnet50': registered models are iresnet18, .*mbf/);
    assert.throws(
      () => createModel("mbf-0.5"),
      /not a model name: expected <model>\[-w<multiplier>\]\[@<input size>\]/,
    );
    assert.throws(() => resolveSpec("mbf@56", { inputSize: 64 }), /sets inputSize 56, but the options say 64/);
    assert.throws(() => resolveSpec("mbf@8"), /inputSize must be an integer >= 16, got 8/);
    assert.throws(() => resolveSpec("mbf", { embeddingSize: 0 }), /embeddingSize must be a positive integer/);
    assert.throws(
      () => registerModel({ name: "mbf", family: "x", description: "", create: () => createModel("mbf") }),
      /already registered/,
    );
  });

  test("a registered model builds by name with its variants", () => {
    registerModel({
      name: "tiny_iresnet",
      family: "iresnet",
      description: "test model",
      create: (spec) => new IResNet(spec, [1, 1, 1, 1]),
    });
    const model = createModel("tiny_iresnet-w0.125@32", { embeddingSize: 8 });
    assert.equal(model.stateDict().get("conv1.weight")!.size(0), 8);
    assert.deepEqual(model.stateDict().get("fc.weight")!.shape, [8, 64 * 2 * 2]);
    model.dispose();
  });
});

/** IResNet's conv and linear multiply-adds, layer by layer. */
function iresnetMultiplyAddsByHand(layout: number[], width: number, size: number, embedding = 512): number {
  const w = [64, 128, 256, 512].map((c) => c * width);
  let total = size * size * w[0]! * 3 * 9;
  let [inC, side] = [w[0]!, size];
  layout.forEach((blocks, stage) => {
    const outC = w[stage]!;
    const half = Math.ceil(side / 2);
    for (let b = 0; b < blocks; b++) {
      const first = b === 0;
      total += side * side * outC * (first ? inC : outC) * 9; // conv1 at the input's resolution
      total += half * half * outC * outC * 9; // conv2 (stride 2 in the first block)
      if (first) total += half * half * outC * inC; // downsample 1x1
      side = half;
    }
    inC = outC;
  });
  return total + inC * side * side * embedding;
}

describe("FLOPs", () => {
  test("IResNet multiply-adds by shape tracing equal a layer-by-layer count", () => {
    for (const [name, layout, width, size] of [
      ["iresnet18", [2, 2, 2, 2], 1, 112],
      ["iresnet50-w0.25@56", [3, 4, 14, 3], 0.25, 56],
    ] as const) {
      const model = createModel(name);
      const macs = countMultiplyAdds(model, [3, size, size]);
      model.dispose();
      assert.equal(macs, iresnetMultiplyAddsByHand([...layout], width, size), name);
    }
  });

  test("grouped convolutions count (in / groups) x kh x kw per output", () => {
    class Net extends torch.nn.Module {
      readonly dw = this.registerModule("dw", new torch.nn.Conv2d(8, 8, 3, { stride: 2, padding: 1, groups: 8 }));
      readonly pw = this.registerModule("pw", new torch.nn.Conv2d(8, 4, 1, { groups: 2 }));
      readonly fc = this.registerModule("fc", new torch.nn.Linear(4 * 5 * 5, 3));
      forward(x: torch.Tensor): torch.Tensor {
        return this.fc.forward(this.pw.forward(this.dw.forward(x)).flatten(1));
      }
    }
    const net = new Net().train();
    assert.equal(countMultiplyAdds(net, [8, 9, 9]), 8 * 25 * 9 + 4 * 25 * 4 + 3 * 100);
    assert.equal(net.training, true, "the training mode is restored");
    torch.tidy(() => assert.deepEqual(net.forward(torch.zeros([2, 8, 9, 9])).shape, [2, 3])); // forward restored
  });
});

describe("model summary", () => {
  test("describeModel and the table", () => {
    const infos = ["mbf", "mbf-w0.5@56"].map((name) => describeModel(name));
    assert.equal(infos[0]!.parameters, 2_059_520);
    assert.equal(infos[0]!.stateDictEntries, 333);
    assert.equal(infos[0]!.family, "mobilefacenet");
    assert.ok(infos[0]!.flops > 0.4e9 && infos[0]!.flops < 0.5e9, String(infos[0]!.flops)); // ~0.44 G as published
    assert.ok(infos[1]!.flops < infos[0]!.flops / 8);
    const lines = formatModelTable(infos).split("\n");
    assert.match(lines[0]!, /^model\s+family\s+input\s+parameters\s+GFLOPs \(mult-adds\)\s+embedding$/);
    assert.match(lines[2]!, /^mbf\s+mobilefacenet\s+112x112\s+2,059,520\s+0\.438\s+512$/);
    assert.match(lines[3]!, /^mbf-w0\.5@56\s+mobilefacenet\s+56x56\s+595,840\s+0\.030\s+512$/);
  });
});
