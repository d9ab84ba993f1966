import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { assertClose } from "../helpers/gradcheck.js";

const F = torch.nn.functional;

describe("nn.functional against hand-computed values", () => {
  test("conv2d: a 2x2 box filter on a 3x3 image, and a depthwise conv", () => {
    const x = torch.arange(9, undefined, 1, { dtype: "float32" }).reshape([1, 1, 3, 3]);
    const w = torch.ones([1, 1, 2, 2]);
    assert.deepEqual(F.conv2d(x, w).toNumbers(), [8, 12, 20, 24]);
    assert.deepEqual(F.conv2d(x, w, torch.tensor([1]), { stride: 2, padding: 1 }).toNumbers(), [1, 4, 10, 25]);
    const two = torch.cat([x, x.mul(2)], 1);
    const dw = torch.cat([w, w.mul(-1)], 0); // [2,1,2,2]
    assert.deepEqual(F.conv2d(two, dw, null, { groups: 2 }).toNumbers(), [8, 12, 20, 24, -16, -24, -40, -48]);
  });

  test("batch norm: training normalizes and updates running statistics; eval uses them", () => {
    const x = torch.tensor([1, 3, 5, 7], { shape: [4, 1] });
    const mean = torch.zeros([1]);
    const variance = torch.ones([1]);
    const y = F.batchNorm(x, mean, variance, { training: true, momentum: 0.1, eps: 0 });
    const sd = Math.sqrt(5); // biased variance of [1,3,5,7] is 5
    assertClose(y.toNumbers(), [-3 / sd, -1 / sd, 1 / sd, 3 / sd]);
    assertClose(mean.toNumbers(), [0.4]); // 0.9*0 + 0.1*4
    assertClose(variance.toNumbers(), [0.9 + 0.1 * (20 / 3)]); // unbiased variance 20/3
    const e = F.batchNorm(x, mean, variance, { training: false, eps: 0 });
    assertClose(
      e.toNumbers(),
      [1, 3, 5, 7].map((v) => (v - 0.4) / Math.sqrt(0.9 + 2 / 3)),
    );
  });

  test("activations", () => {
    const x = torch.tensor([-2, 0, 3]);
    assert.deepEqual(F.relu(x).toNumbers(), [0, 0, 3]);
    assertClose(F.leakyRelu(x, 0.1).toNumbers(), [-0.2, 0, 3]);
    assertClose(F.prelu(x, torch.tensor([0.25])).toNumbers(), [-0.5, 0, 3]);
    assertClose(F.sigmoid(x).toNumbers(), [1 / (1 + Math.E ** 2), 0.5, 1 / (1 + Math.E ** -3)]);
    assertClose(F.tanh(x).toNumbers(), [Math.tanh(-2), 0, Math.tanh(3)]);
  });

  test("softmax, cross entropy with label smoothing and ignore index, nll", () => {
    const z = torch.tensor([[1, 2, 3]]);
    const e = [Math.E, Math.E ** 2, Math.E ** 3];
    const s = e.reduce((a, b) => a + b);
    assertClose(
      F.softmax(z, 1).toNumbers(),
      e.map((v) => v / s),
    );
    assertClose(
      F.logSoftmax(z, 1).toNumbers(),
      e.map((v) => Math.log(v / s)),
    );
    const target = torch.tensor(new BigInt64Array([0n]));
    const logp = [1, 2, 3].map((v) => v - Math.log(s));
    assertClose([F.crossEntropy(z, target).item()], [-logp[0]!]);
    // smoothing 0.3 over 3 classes: target distribution [0.8, 0.1, 0.1]
    assertClose(
      [F.crossEntropy(z, target, { labelSmoothing: 0.3 }).item()],
      [-(0.8 * logp[0]! + 0.1 * logp[1]! + 0.1 * logp[2]!)],
    );
    const two = torch.tensor([
      [1, 2, 3],
      [0, 0, 9],
    ]);
    const withIgnored = torch.tensor(new BigInt64Array([0n, -100n]));
    assertClose([F.crossEntropy(two, withIgnored).item()], [-logp[0]!]);
    assertClose([F.nllLoss(F.logSoftmax(z, 1), target).item()], [-logp[0]!]);
  });

  test("losses and distances", () => {
    const a = torch.tensor([1, 2, 4]);
    const b = torch.tensor([1, 0, 1]);
    assertClose([F.mseLoss(a, b).item()], [(0 + 4 + 9) / 3]);
    assertClose([F.l1Loss(a, b, "sum").item()], [5]);
    assertClose([F.smoothL1Loss(a, b).item()], [(0 + 1.5 + 2.5) / 3]);
    const p = torch.tensor([[0.5, 0.5]]);
    const q = torch.tensor([[0.25, 0.75]]);
    const kl = 0.25 * Math.log(0.25 / 0.5) + 0.75 * Math.log(0.75 / 0.5);
    assertClose([F.klDiv(p.log(), q, "batchmean").item()], [kl]);
    assertClose([F.klDiv(p.log(), q, "sum").item()], [kl]);
    assertClose(F.cosineSimilarity(torch.tensor([[1, 0]]), torch.tensor([[1, 1]])).toNumbers(), [Math.SQRT1_2]);
    assertClose(
      F.cdist(
        torch.tensor([[0, 0]]),
        torch.tensor([
          [3, 4],
          [1, 0],
        ]),
      ).toNumbers(),
      [5, 1],
    );
    assertClose(F.normalize(torch.tensor([[3, 4]])).toNumbers(), [0.6, 0.8]);
  });

  test("pooling, interpolation, padding and dropout", () => {
    const x = torch.arange(16, undefined, 1, { dtype: "float32" }).reshape([1, 1, 4, 4]);
    assert.deepEqual(F.avgPool2d(x, 2).toNumbers(), [2.5, 4.5, 10.5, 12.5]);
    assert.deepEqual(F.maxPool2d(x, 2).toNumbers(), [5, 7, 13, 15]);
    assert.deepEqual(F.adaptiveAvgPool2d(x, 1).toNumbers(), [7.5]);
    assert.deepEqual(F.adaptiveMaxPool2d(x, 1).toNumbers(), [15]);
    assert.deepEqual(F.interpolate(torch.tensor([[[[1, 2]]]]), [1, 4]).toNumbers(), [1, 1, 2, 2]);
    assert.deepEqual(F.interpolate(torch.tensor([[[[1, 3]]]]), [1, 3], "bilinear", true).toNumbers(), [1, 2, 3]);
    assert.deepEqual(F.pad(torch.tensor([[1, 2]]), [1, 2], "constant", 9).toNumbers(), [9, 1, 2, 9, 9]);
    const d = F.dropout(torch.ones([1000]), 0.5, true).toNumbers();
    assert.ok(d.every((v) => v === 0 || v === 2));
    assert.deepEqual(F.dropout(torch.ones([3]), 0.5, false).toNumbers(), [1, 1, 1]);
  });
});

test("conv2d: a strided 1x1 convolution on channels_last runs as subsample + stride 1, equal to libtorch's own", () => {
  // libtorch 1.13's channels_last backward of this very shape (8 channels at 48x48, stride 2) corrupts the heap
  torch.tidy(() => {
    torch.manualSeed(2);
    const x = torch.randn([4, 8, 48, 48]).contiguous("channels_last").requiresGrad_(true);
    const w = torch.randn([16, 8, 1, 1]).requiresGrad_(true);
    const y = F.conv2d(x, w, null, { stride: 2 });
    assert.deepEqual(y.shape, [4, 16, 24, 24]);
    y.square().sum().backward();
    // the reference: libtorch's strided convolution on contiguous tensors, whose backward is sound
    const [xc, wc] = [x.detach().contiguous().requiresGrad_(true), w.detach().clone().requiresGrad_(true)];
    const ref = torch.aten.conv2d(xc, wc, null, 2, 0, 1, 1);
    ref.square().sum().backward();
    assert.ok(y.sub(ref).abs().max().item() < 1e-5);
    assert.ok(x.grad!.sub(xc.grad!).abs().max().item() < 1e-4);
    assert.ok(w.grad!.sub(wc.grad!).abs().max().item() < 1e-3 * wc.grad!.abs().max().item());
  });
});
