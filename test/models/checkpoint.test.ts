import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync, zipSync } from "fflate";
import * as torch from "../../src/torch/index.js";
import { loadSafetensors, readNpy, saveSafetensors } from "../../src/io/index.js";
import {
  checkBackboneFile,
  createModel,
  findFittingModels,
  loadBackbone,
  readCheckpoint,
  saveBackbone,
  MAX_WEIGHT_MAGNITUDE,
  METADATA_MODEL,
} from "../../src/models/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const fixture = (name: string): string => path.join(root, "test", "fixtures", name);
const dir = mkdtempSync(path.join(tmpdir(), "facekd-models-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string): string => path.join(dir, name);

const maxAbsDiff = (a: torch.Tensor, b: torch.Tensor): number => torch.tidy(() => a.sub(b).abs().max().item());

describe("arcface_torch checkpoints", () => {
  test("mbf_backbone.pth gives PyTorch's embedding of mbf_input.npy (eval mode)", () => {
    const model = loadBackbone("mbf", fixture("mbf_backbone.pth")).eval();
    try {
      torch.tidy(() => {
        const input = readNpy(fixture("mbf_input.npy"));
        const expected = readNpy(fixture("mbf_embedding.npy"));
        assert.deepEqual(input.shape, [2, 3, 112, 112]);
        assert.deepEqual(expected.shape, [2, 512]);
        const embedding = torch.noGrad(() => model.forward(input));
        assert.ok(maxAbsDiff(embedding, expected) < 1e-4, `max abs difference ${maxAbsDiff(embedding, expected)}`);
        // channels_last gives the same numbers
        model.to({ memoryFormat: "channels_last" });
        const cl = torch.noGrad(() => model.forward(input.contiguous("channels_last")));
        assert.ok(maxAbsDiff(cl, expected) < 1e-4);
      });
    } finally {
      model.dispose();
    }
  });

  test("a checkpoint of another model: every offending key listed, the fitting model named", () => {
    assert.throws(
      () => loadBackbone("mbf_large", fixture("mbf_backbone.pth")),
      (error: torch.nn.StateDictError) => {
        assert.equal(error.name, "StateDictError");
        assert.match(error.message, /loadBackbone\('mbf_large', .*mbf_backbone\.pth\): the checkpoint \(333 entries\)/);
        assert.match(error.message, /does not fit the model \(606 entries\)/);
        assert.match(error.message, /missing keys \(280\): layers\.1\.layers\.0\.layers\.0\.layers\.0\.weight/);
        assert.match(error.message, /unexpected keys \(7\): layers\.1\.layers\.0\.weight/);
        assert.match(
          error.message,
          /layers\.0\.layers\.0\.weight: checkpoint \[128, 3, 3, 3\] vs model \[256, 3, 3, 3\]/,
        );
        assert.match(error.message, /the checkpoint fits 'mbf': load it under that name/);
        assert.equal(error.missingKeys.length, 280);
        assert.equal(error.unexpectedKeys.length, 7);
        return true;
      },
    );
  });
});

describe("facekd safetensors checkpoints", () => {
  test("save and load keep PyTorch's names, the values and the model name", () => {
    torch.manualSeed(3);
    const model = createModel("iresnet18-w0.25@56", { embeddingSize: 64 });
    const file = tmp("ir18.safetensors");
    try {
      model.train();
      torch.noGrad(() => torch.tidy(() => void model.forward(torch.randn([4, 3, 56, 56])))); // non-trivial BN stats
      model.eval();
      saveBackbone(file, model);
      const { tensors, metadata } = loadSafetensors(file);
      assert.deepEqual([...tensors.keys()].sort(), [...model.stateDict().keys()].sort());
      assert.equal(tensors.get("bn1.num_batches_tracked")!.dtype, "int64");
      assert.equal(metadata[METADATA_MODEL], "iresnet18-w0.25@56");
      for (const t of tensors.values()) t.dispose();

      const loaded = loadBackbone("iresnet18-w0.25@56", file, { embeddingSize: 64 }).eval();
      torch.tidy(() => {
        const x = torch.randn([2, 3, 56, 56]);
        const [a, b] = torch.noGrad(() => [model.forward(x), loaded.forward(x)]);
        assert.equal(maxAbsDiff(a!, b!), 0);
      });
      loaded.dispose();
    } finally {
      model.dispose();
    }
  });

  test("a wrong embedding size is named in the error", () => {
    const model = createModel("mbf-w0.5@56", { embeddingSize: 128 });
    const file = tmp("mbf-128.safetensors");
    saveBackbone(file, model);
    model.dispose();
    assert.throws(
      () => loadBackbone("mbf-w0.5@56", file),
      /features\.layers\.2\.weight: checkpoint \[128, 256\] vs model \[512, 256\][^]*fits .*'mbf-w0\.5@56' with embeddingSize 128: load it/,
    );
  });

  test("DDP's module. prefix and training checkpoints' state_dict_backbone. entries are recognized", () => {
    const model = createModel("mbf-w0.5@56");
    try {
      const prefixed = (prefix: string): Map<string, torch.Tensor> =>
        new Map([...model.stateDict()].map(([k, t]) => [prefix + k, t]));
      saveSafetensors(tmp("ddp.safetensors"), prefixed("module."));
      const training = prefixed("state_dict_backbone.module.");
      training.set("state_dict_softmax_fc.weight", torch.zeros([3, 4]));
      saveSafetensors(tmp("training.safetensors"), training);
      for (const file of ["ddp.safetensors", "training.safetensors"]) loadBackbone("mbf-w0.5@56", tmp(file)).dispose();
    } finally {
      model.dispose();
    }
  });

  test("findFittingModels names every registered model with the same keys and shapes", () => {
    const model = createModel("mbf@56");
    try {
      // 56 and 64 pixels both end in 4x4 maps: the same weights fit both
      assert.deepEqual(findFittingModels(model.stateDict()), [
        { name: "mbf@64", embeddingSize: 512 },
        { name: "mbf@56", embeddingSize: 512 },
      ]);
      assert.deepEqual(findFittingModels(new Map([["x", model.stateDict().get("conv_sep.layers.0.weight")!]])), []);
    } finally {
      model.dispose();
    }
  });
});

describe("weights are checked as they load", () => {
  const model = createModel("mbf-w0.5@56");
  after(() => model.dispose());
  const changed = (t: torch.Tensor, value: number): torch.Tensor => {
    const values = Float32Array.from(t.data() as Float32Array);
    values[3] = value;
    return torch.tensor(values, { shape: t.shape });
  };
  // the model's state dict with one weight changed
  const withValue = (name: string, value: number): Map<string, torch.Tensor> =>
    new Map([...model.stateDict()].map(([k, t]) => [k, k === name ? changed(t, value) : t]));

  test("NaN, Inf and huge weights in a safetensors file are errors naming the tensor and the file", () => {
    const cases: [number, RegExp][] = [
      [NaN, /tensor 'features\.layers\.2\.weight' \[512, 256\] holds 1 non-finite value \(NaN or Inf\)/],
      [-Infinity, /'features\.layers\.2\.weight' \[512, 256\] holds 1 non-finite value/],
      [1e37, /'features\.layers\.2\.weight' \[512, 256\] holds a weight of magnitude 1\.000e\+37, beyond the 65504/],
    ];
    for (const [value, pattern] of cases) {
      const file = tmp(`bad-${value}.safetensors`);
      saveSafetensors(file, withValue("features.layers.2.weight", value));
      assert.throws(
        () => loadBackbone("mbf-w0.5@56", file),
        (e: Error) => {
          assert.ok(e.message.startsWith(`${file}: `), e.message);
          assert.match(e.message, pattern);
          return true;
        },
      );
    }
    // the bound itself loads, as do integer buffers beyond it (num_batches_tracked counts steps)
    const edge = withValue("features.layers.2.weight", -MAX_WEIGHT_MAGNITUDE);
    edge.set("features.layers.3.num_batches_tracked", torch.tensor(new BigInt64Array([10n ** 9n]), { shape: [] }));
    saveSafetensors(tmp("edge.safetensors"), edge);
    loadBackbone("mbf-w0.5@56", tmp("edge.safetensors")).dispose();
  });

  test("a NaN in a torch.save file (with a valid CRC) is an error naming the tensor", () => {
    const entries = unzipSync(readFileSync(fixture("torch_mixed.pt")));
    const data = new Float32Array(24).fill(1);
    data[5] = NaN;
    entries["torch_mixed/data/0"] = new Uint8Array(data.buffer);
    const file = tmp("nan.pt");
    writeFileSync(file, zipSync(entries, { level: 0 }));
    assert.throws(() => readCheckpoint(file), /nan\.pt: tensor 'state_dict\.w' \[4, 6\] holds 1 non-finite value/);
  });
});

describe("checkBackboneFile: a checkpoint against a model by its header", () => {
  test("the names and shapes of a .pth or .safetensors file decide, as loadBackbone's error says", () => {
    checkBackboneFile("mbf", fixture("mbf_backbone.pth"));
    assert.throws(
      () => checkBackboneFile("mbf", fixture("mbf_backbone.pth"), { embeddingSize: 16 }),
      /mbf_backbone\.pth\): the checkpoint \(333 entries\)[^]*checkpoint \[512, 512\] vs model \[16, 512\][^]*fits 'mbf' with embeddingSize 512/,
    );
    const model = createModel("mbf-w0.5@56");
    const training = new Map([...model.stateDict()].map(([k, t]) => [`state_dict_backbone.module.${k}`, t]));
    saveSafetensors(tmp("header-training.safetensors"), training);
    model.dispose();
    checkBackboneFile("mbf-w0.5@56", tmp("header-training.safetensors"));
    assert.throws(() => checkBackboneFile("iresnet18", tmp("header-training.safetensors")), /missing keys/);
  });

  test("the weights are not read: a NaN passes the check and stops the load", () => {
    const model = createModel("mbf-w0.25@32", { embeddingSize: 16 });
    const tensors = new Map(model.stateDict());
    tensors.set("features.layers.2.weight", torch.full([16, 128], NaN));
    saveSafetensors(tmp("header-nan.safetensors"), tensors);
    model.dispose();
    const options = { embeddingSize: 16 };
    checkBackboneFile("mbf-w0.25@32", tmp("header-nan.safetensors"), options);
    assert.throws(() => loadBackbone("mbf-w0.25@32", tmp("header-nan.safetensors"), options), /non-finite/);
  });
});
