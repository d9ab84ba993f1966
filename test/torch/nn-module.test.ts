import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

const { nn } = torch;

class Block extends nn.Module {
  readonly conv = this.registerModule("conv", new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }));
  readonly bn = this.registerModule("bn", new nn.BatchNorm2d(4));
  readonly prelu = this.registerModule("prelu", new nn.PReLU(4));
  forward(x: torch.Tensor): torch.Tensor {
    return this.prelu.forward(this.bn.forward(this.conv.forward(x)));
  }
}

class Net extends nn.Module {
  readonly body = this.registerModule("body", new nn.Sequential(new Block(), new nn.Dropout(0.2)));
  readonly fc = this.registerModule("fc", new nn.Linear(4, 2));
  forward(x: torch.Tensor): torch.Tensor {
    return this.fc.forward(this.body.forward(x).mean([2, 3]));
  }
}

describe("nn.Module", () => {
  test("state dict keys, order and dtypes follow PyTorch", () => {
    const sd = new Net().stateDict();
    assert.deepEqual(
      [...sd.keys()],
      [
        "body.0.conv.weight",
        "body.0.bn.weight",
        "body.0.bn.bias",
        "body.0.bn.running_mean",
        "body.0.bn.running_var",
        "body.0.bn.num_batches_tracked",
        "body.0.prelu.weight",
        "fc.weight",
        "fc.bias",
      ],
    );
    assert.equal(sd.get("body.0.bn.num_batches_tracked")!.dtype, "int64");
    assert.deepEqual(sd.get("body.0.bn.num_batches_tracked")!.shape, []);
    assert.deepEqual(sd.get("body.0.prelu.weight")!.toNumbers(), [0.25, 0.25, 0.25, 0.25]);
  });

  test("parameter count and default init bounds", () => {
    const net = new Net();
    assert.equal(net.numParameters(), 3 * 4 * 9 + 4 + 4 + 4 + 4 * 2 + 2);
    const fc = new nn.Linear(100, 10);
    const bound = 1 / Math.sqrt(100);
    assert.ok(fc.weight.abs().max().item() <= bound && fc.bias!.abs().max().item() <= bound);
    assert.ok(fc.weight.abs().max().item() > bound * 0.8);
  });

  test("train() and eval(): batch norm statistics and dropout", () => {
    const net = new Net();
    const x = torch.randn([4, 3, 5, 5]);
    net.train();
    net.forward(x);
    net.forward(x);
    const bn = net.stateDict();
    assert.equal(bn.get("body.0.bn.num_batches_tracked")!.item(), 2);
    assert.notDeepEqual(bn.get("body.0.bn.running_mean")!.toNumbers(), [0, 0, 0, 0]);
    net.eval();
    assert.ok(net.namedModules().every(([, m]) => !m.training));
    const a = net.forward(x).toNumbers();
    const b = net.forward(x).toNumbers();
    assert.deepEqual(a, b);
    assert.equal(bn.get("body.0.bn.num_batches_tracked")!.item(), 2);
  });

  test("a cumulative-average batch norm (momentum null) averages the batch statistics", () => {
    const bn = new nn.BatchNorm1d(1, { momentum: null });
    bn.forward(torch.tensor([[1], [3]]));
    bn.forward(torch.tensor([[5], [7]]));
    assert.deepEqual(bn.runningMean!.toNumbers(), [4]);
  });

  test("loadStateDict copies values and lists every bad key", () => {
    const a = new Net();
    const b = new Net();
    b.loadStateDict(a.stateDict());
    for (const [k, t] of b.stateDict()) assert.ok(torch.equal(t, a.stateDict().get(k)!), k);
    const broken = new Map(a.stateDict());
    broken.delete("fc.bias");
    broken.set("fc.extra", torch.ones([1]));
    broken.set("fc.weight", torch.ones([3, 4]));
    assert.throws(
      () => b.loadStateDict(broken),
      (e: Error) =>
        e instanceof nn.StateDictError &&
        /missing keys \(1\): fc\.bias/.test(e.message) &&
        /unexpected keys \(1\): fc\.extra/.test(e.message) &&
        /fc\.weight: checkpoint \[3, 4\] vs model \[2, 4\]/.test(e.message),
    );
    broken.set("fc.weight", torch.ones([2, 4]));
    const result = b.loadStateDict(broken, { strict: false });
    assert.deepEqual(result, { missingKeys: ["fc.bias"], unexpectedKeys: ["fc.extra"] });
  });

  test("channels_last end to end gives the same outputs and gradients", () => {
    torch.manualSeed(3);
    const net = new Net().eval();
    const x = torch.randn([2, 3, 6, 6]);
    const ref = net.forward(x).toNumbers();
    net.to({ memoryFormat: "channels_last" });
    const w = net.stateDict().get("body.0.conv.weight")!;
    assert.ok(w.isContiguous("channels_last"));
    assert.equal(w.requiresGrad, true);
    const y = net.forward(x.contiguous("channels_last"));
    y.sum().backward();
    y.toNumbers().forEach((v, i) => assert.ok(Math.abs(v - ref[i]!) < 1e-5));
    assert.ok(w.grad !== null);
  });

  test("to(dtype) converts floating tensors only", () => {
    const net = new Net().to({ dtype: "float64" });
    assert.equal(net.stateDict().get("fc.weight")!.dtype, "float64");
    assert.equal(net.stateDict().get("body.0.bn.num_batches_tracked")!.dtype, "int64");
    assert.equal(net.forward(torch.randn([1, 3, 4, 4], { dtype: "float64" })).dtype, "float64");
  });
});
