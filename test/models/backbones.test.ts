import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { createModel, listModels, IRESNET_LAYOUTS, type Backbone } from "../../src/models/index.js";

// arcface_torch's figures with a 512-d embedding (PyTorch's sum of p.numel() over parameters(); len(state_dict()))
const ARCFACE_TORCH: Record<string, [parameters: number, entries: number]> = {
  iresnet18: [24_025_600, 187],
  iresnet34: [34_139_328, 331],
  iresnet50: [43_590_848, 475],
  iresnet100: [65_156_160, 925],
  mbf: [2_059_520, 333],
  mbf_large: [6_314_880, 606],
};

/** IResNet's parameters and state-dict entries counted layer by layer from its definition. */
function iresnetByHand(layout: readonly number[], width = 1, inputSize = 112, embedding = 512): [number, number] {
  const w = [64, 128, 256, 512].map((c) => Math.round(c * width));
  const bn = (c: number): number => 2 * c; // weight, bias (+ 3 buffers each, counted in entries)
  let params = 3 * w[0]! * 9 + bn(w[0]!) + w[0]!;
  let entries = 1 + 5 + 1;
  let inC = w[0]!;
  let side = inputSize;
  layout.forEach((blocks, stage) => {
    const outC = w[stage]!;
    for (let b = 0; b < blocks; b++) {
      const i = b === 0 ? inC : outC;
      params += bn(i) + i * outC * 9 + bn(outC) + outC + outC * outC * 9 + bn(outC);
      entries += 5 + 1 + 5 + 1 + 1 + 5;
      if (b === 0) {
        params += i * outC + bn(outC);
        entries += 1 + 5;
      }
    }
    inC = outC;
    side = Math.ceil(side / 2);
  });
  params += bn(inC) + inC * side * side * embedding + embedding + bn(embedding);
  entries += 5 + 2 + 5;
  return [params, entries];
}

const sideAt = (inputSize: number, stride: number): number => {
  let side = inputSize;
  for (let s = 1; s < stride; s *= 2) side = Math.ceil(side / 2);
  return side;
};

/**
 * Runs a batch in eval mode and checks the embedding and every named tap against featureInfo. (Not the values:
 * with arcface_torch's initialization and untrained BN statistics the deep IResNets overflow in eval mode.)
 */
function checkShapes(model: Backbone, batch: number): void {
  const { name, inputSize, embeddingSize } = model.spec;
  model.eval();
  torch.noGrad(() =>
    torch.tidy(() => {
      const { stages, embedding } = model.forwardFeatures(torch.randn([batch, 3, inputSize, inputSize]));
      assert.deepEqual(embedding.shape, [batch, embeddingSize], name);
      assert.deepEqual(Object.keys(stages), ["stage1", "stage2", "stage3", "stage4"], name);
      for (const { name: stage, channels, stride } of model.featureInfo) {
        const side = sideAt(inputSize, stride);
        assert.deepEqual(stages[stage]!.shape, [batch, channels, side, side], `${name} ${stage}`);
      }
    }),
  );
}

describe("registered backbones", () => {
  // one build per model: counts, then shapes (a single image for the large IResNets)
  for (const name of listModels()) {
    test(`${name}: parameters, state dict and output shapes`, () => {
      const model = createModel(name);
      try {
        const counts: [number, number] = [model.numParameters(false), model.stateDict().size];
        if (name in ARCFACE_TORCH) assert.deepEqual(counts, ARCFACE_TORCH[name]);
        const base = name.split(/[-@]/)[0]!;
        if (base in IRESNET_LAYOUTS) {
          const layout = IRESNET_LAYOUTS[base as keyof typeof IRESNET_LAYOUTS];
          assert.deepEqual(counts, iresnetByHand(layout, model.spec.widthMultiplier, model.spec.inputSize));
        }
        checkShapes(model, model.numParameters() > 20e6 ? 1 : 2);
      } finally {
        model.dispose();
      }
    });
  }
});

describe("arcface_torch layouts", () => {
  test("iresnet18 state-dict names and order", () => {
    const model = createModel("iresnet18-w0.25@56"); // names do not depend on width or input size
    const keys = [...model.stateDict().keys()];
    model.dispose();
    assert.equal(keys.length, 187);
    const bn = (p: string): string[] =>
      ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map((s) => `${p}.${s}`);
    assert.deepEqual(keys.slice(0, 7), ["conv1.weight", ...bn("bn1"), "prelu.weight"]);
    assert.deepEqual(keys.slice(7, 31), [
      ...bn("layer1.0.bn1"),
      "layer1.0.conv1.weight",
      ...bn("layer1.0.bn2"),
      "layer1.0.prelu.weight",
      "layer1.0.conv2.weight",
      ...bn("layer1.0.bn3"),
      "layer1.0.downsample.0.weight",
      ...bn("layer1.0.downsample.1"),
    ]);
    assert.ok(!keys.some((k) => k.startsWith("layer1.1.downsample")));
    assert.deepEqual(keys.slice(-12), [...bn("bn2"), "fc.weight", "fc.bias", ...bn("features")]);
  });

  test("iresnet: the embedding BatchNorm1d weight is 1 and frozen; the rest trains", () => {
    const model = createModel("iresnet18-w0.25@56");
    try {
      assert.equal(model.stateDict().get("features.weight")!.requiresGrad, false);
      assert.deepEqual([...new Set(model.stateDict().get("features.weight")!.toNumbers())], [1]);
      assert.equal(model.numParameters(false) - model.numParameters(), 512);
    } finally {
      model.dispose();
    }
  });

  test("mbf state-dict names and shapes", () => {
    const model = createModel("mbf");
    const sd = model.stateDict();
    const shapes = Object.fromEntries([...sd].map(([k, t]) => [k, t.shape]));
    const keys = [...sd.keys()];
    model.dispose();
    assert.equal(keys[0], "layers.0.layers.0.weight");
    assert.deepEqual(shapes["layers.0.layers.0.weight"], [128, 3, 3, 3]);
    assert.deepEqual(shapes["layers.1.layers.0.weight"], [128, 2, 3, 3]); // 3x3 conv in 64 groups
    assert.deepEqual(shapes["layers.2.layers.0.layers.0.weight"], [128, 128, 1, 1]); // DepthWise expansion
    assert.deepEqual(shapes["layers.2.layers.1.layers.0.weight"], [128, 1, 3, 3]); // depthwise
    assert.deepEqual(shapes["layers.3.layers.3.layers.2.layers.0.weight"], [128, 128, 1, 1]); // 4th residual
    assert.deepEqual(shapes["layers.5.layers.5.layers.0.layers.0.weight"], [256, 256, 1, 1]); // 6th residual
    assert.deepEqual(shapes["layers.6.layers.0.layers.0.weight"], [512, 256, 1, 1]); // 7x7 stage: 512 expansion
    assert.deepEqual(shapes["conv_sep.layers.0.weight"], [512, 256, 1, 1]);
    assert.deepEqual(shapes["features.layers.0.layers.0.weight"], [512, 1, 7, 7]); // GDC
    assert.deepEqual(shapes["features.layers.2.weight"], [512, 512]);
    assert.equal(keys.at(-1), "features.layers.3.num_batches_tracked");
    assert.ok(!keys.some((k) => k.includes("dropout") || k.startsWith("features.layers.1")));
  });

  test("embedding size, width and input size options", () => {
    const model = createModel("mbf", { embeddingSize: 128, widthMultiplier: 0.5, inputSize: 64 });
    try {
      assert.equal(model.spec.name, "mbf-w0.5@64");
      assert.deepEqual(model.stateDict().get("features.layers.2.weight")!.shape, [128, 256]);
      assert.deepEqual(model.stateDict().get("features.layers.0.layers.0.weight")!.shape, [256, 1, 4, 4]);
      checkShapes(model, 2);
      torch.noGrad(() =>
        torch.tidy(() => {
          const x = torch.randn([2, 3, 64, 64]);
          const { stages, embedding } = model.forwardFeatures(x);
          assert.ok(
            Object.values(stages).every((t) => !t.isDisposed),
            "the taps outlive the pass",
          );
          assert.ok(torch.equal(model.forward(x), embedding), "forward() gives forwardFeatures()'s embedding");
        }),
      );
    } finally {
      model.dispose();
    }
  });

  test("a wrong input size names the model and the size it expects", () => {
    const model = createModel("mbf-w0.5@56");
    try {
      assert.throws(
        () => torch.tidy(() => model.forward(torch.zeros([1, 3, 112, 112]))),
        /mbf-w0\.5@56: expected input \[N, 3, 56, 56\], got \[1, 3, 112, 112\]/,
      );
    } finally {
      model.dispose();
    }
  });

  for (const name of ["iresnet18-w0.25@56", "mbf-w0.5@56", "mobilenetv2-w0.5@56"]) {
    test(`${name}: a training step reaches every trainable parameter`, () => {
      torch.manualSeed(1);
      const model = createModel(name, { dropout: 0.2 });
      try {
        model.train();
        torch.tidy(() => {
          model
            .forward(torch.randn([4, 3, 56, 56]))
            .square()
            .mean()
            .backward();
          for (const [key, p] of model.namedParameters()) {
            const grad = p.grad;
            assert.equal(grad === null, !p.requiresGrad, `${key}: gradient present iff trainable`);
            if (grad) assert.ok(grad.isfinite().all().item(), `${key}: finite gradient`);
          }
        });
        const tracked = model
          .stateDict()
          .get(name.startsWith("iresnet") ? "bn1.num_batches_tracked" : "layers.0.layers.1.num_batches_tracked");
        assert.equal(tracked!.item(), 1);
      } finally {
        model.dispose();
      }
    });
  }
});
