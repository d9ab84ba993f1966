import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";

const F = torch.nn.functional;
// a fixed random projection to a scalar, so every output element's gradient path is checked
const project = (y: torch.Tensor, seed = 7): torch.Tensor =>
  y.mul(torch.tensor(new Float64Array(input([y.numel()], seed).data), { shape: y.shape })).sum();

describe("autograd matches finite differences", () => {
  test("conv2d with stride, padding and dilation", () => {
    gradcheck(
      ([x, w, b]) => project(F.conv2d(x!, w!, b!, { stride: 2, padding: 1, dilation: 1 })),
      [input([2, 3, 5, 5], 1), input([4, 3, 3, 3], 2), input([4], 3)],
    );
  });

  test("conv2d with groups (depthwise)", () => {
    gradcheck(
      ([x, w]) => project(F.conv2d(x!, w!, null, { padding: 1, groups: 4 })),
      [input([1, 4, 4, 4], 4), input([4, 1, 3, 3], 5)],
    );
  });

  test("conv2d with 2 groups and dilation 2", () => {
    gradcheck(
      ([x, w]) => project(F.conv2d(x!, w!, null, { padding: 2, dilation: 2, groups: 2 })),
      [input([1, 4, 5, 5], 6), input([2, 2, 3, 3], 7)],
    );
  });

  test("batch_norm in training mode (batch statistics)", () => {
    gradcheck(
      ([x, w, b]) => project(F.batchNorm(x!, null, null, { weight: w!, bias: b!, training: true })),
      [input([4, 3, 2, 2], 8), input([3], 9, (v) => 1 + v / 2), input([3], 10)],
    );
  });

  test("prelu with one slope per channel", () => {
    gradcheck(([x, a]) => project(F.prelu(x!, a!)), [input([2, 3, 2, 2], 11), input([3], 12, (v) => 0.25 + v / 10)]);
  });

  test("linear", () => {
    gradcheck(([x, w, b]) => project(F.linear(x!, w!, b!)), [input([3, 5], 13), input([4, 5], 14), input([4], 15)]);
  });

  test("L2 normalize", () => {
    gradcheck(([x]) => project(F.normalize(x!)), [input([3, 6], 16)]);
  });

  test("cross entropy with label smoothing", () => {
    const target = torch.tensor(new BigInt64Array([2n, 0n, 4n]));
    gradcheck(([z]) => F.crossEntropy(z!, target, { labelSmoothing: 0.1 }), [input([3, 5], 17, (v) => 3 * v)]);
  });

  test("cdist", () => {
    gradcheck(([a, b]) => project(F.cdist(a!, b!)), [input([4, 3], 18), input([5, 3], 19)]);
  });

  test("cosine similarity and KL divergence", () => {
    gradcheck(([a, b]) => project(F.cosineSimilarity(a!, b!)), [input([3, 4], 20), input([3, 4], 21)]);
    gradcheck(
      ([s, t]) => F.klDiv(F.logSoftmax(s!, 1), F.softmax(t!, 1), "batchmean"),
      [input([2, 4], 22), input([2, 4], 23)],
    );
  });
});
