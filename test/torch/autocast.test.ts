import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

const { aten } = torch;

test("autocast on cpu runs matmul and conv in bfloat16 and keeps the float32-listed ops in float32", () => {
  torch.tidy(() => {
    const x = torch.randn([4, 8]);
    const w = torch.randn([3, 8]);
    torch.autocast({ device: "cpu", dtype: "bfloat16" }, () => {
      const y = aten.linear(x, w, null);
      assert.equal(y.dtype, "bfloat16");
      assert.equal(aten.mm(x, w.t()).dtype, "bfloat16");
      const image = torch.randn([1, 3, 8, 8]);
      assert.equal(aten.conv2d(image, torch.randn([4, 3, 3, 3]), null, [1, 1], [0, 0], [1, 1], 1).dtype, "bfloat16");
      // losses are on libtorch's float32 list: their bfloat16 inputs are cast up
      assert.equal(aten.mse_loss(y, torch.zeros([4, 3]), 1).dtype, "float32");
      assert.equal(aten.cross_entropy_loss(y, torch.zeros([4], { dtype: "int64" }), null, 1, -100, 0).dtype, "float32");
    });
    assert.equal(aten.mm(x, w.t()).dtype, "float32", "off again after the region");
  });
});

test("gradients reach float32 master weights as float32 through bfloat16 ops", () => {
  torch.tidy(() => {
    const w = torch.randn([3, 8], { requiresGrad: true });
    const x = torch.randn([4, 8]);
    const y = torch.autocast({ device: "cpu" }, () => aten.linear(x, w, null));
    assert.equal(y.dtype, "bfloat16");
    y.float().sum().backward();
    assert.equal(w.grad!.dtype, "float32");
    // d(sum(x w^T))/dw = column sums of x, to bfloat16's precision (8 bits of mantissa)
    const expected = x.sum(0).unsqueeze(0).expand([3, 8]);
    assert.ok(w.grad!.sub(expected).abs().max().item() < 0.1 * Math.max(1, expected.abs().max().item()));
  });
});

test("nested autocast regions restore the enclosing state, also when the function throws", () => {
  assert.deepEqual(torch.autocastState("cpu"), { enabled: false, dtype: "bfloat16" });
  torch.autocast({ device: "cpu" }, () => {
    torch.autocast({ device: "cpu", enabled: false }, () => {
      assert.equal(torch.autocastState("cpu").enabled, false);
      torch.tidy(() => assert.equal(aten.mm(torch.randn([2, 2]), torch.randn([2, 2])).dtype, "float32"));
    });
    assert.equal(torch.autocastState("cpu").enabled, true);
    assert.throws(
      () =>
        torch.autocast({ device: "cpu", enabled: false }, () => {
          throw new Error("inside");
        }),
      /inside/,
    );
    assert.equal(torch.autocastState("cpu").enabled, true, "restored after the throw");
  });
  assert.equal(torch.autocastState("cpu").enabled, false);
  assert.equal(torch.autocastState("cuda").enabled, false, "the cpu region never touched cuda's state");
});

test("autocast refuses float16 on cpu and asynchronous functions", () => {
  assert.throws(
    () => torch.autocast({ device: "cpu", dtype: "float16" }, () => 0),
    /on cpu the dtype must be bfloat16/,
  );
  assert.throws(() => torch.autocast({ device: "cpu" }, async () => 0), /synchronous/);
  assert.equal(torch.autocastState("cpu").enabled, false);
});
