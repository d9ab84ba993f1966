import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

describe("libtorch errors become JS errors naming the op", () => {
  test("shape mismatch", () => {
    assert.throws(
      () => torch.ones([2, 3]).add(torch.ones([4])),
      (e: Error) => /^aten::add\.Tensor: The size of tensor a \(3\) must match/.test(e.message),
    );
    assert.throws(() => torch.ones([2, 3]).mm(torch.ones([2, 3])), /aten::mm: .*cannot be multiplied/);
  });

  test("dtype mismatch", () => {
    assert.throws(() => torch.ones([2, 2]).mm(torch.ones([2, 2], { dtype: "float64" })), /aten::mm: .*(dtype|type)/i);
  });

  test("bad index", () => {
    const idx = torch.tensor(new BigInt64Array([5n]));
    assert.throws(() => torch.ones([3]).indexSelect(0, idx), /aten::index_select: .*out of range/i);
    assert.throws(() => torch.ones([3]).select(0, 7), /aten::select\.int: .*out of range/);
  });

  test("out of memory is an error, not an abort", () => {
    assert.throws(() => torch.empty([1 << 30, 1 << 30]), /aten::empty\.memory_format: .*(allocate|memory)/i);
  });

  test("wrong argument types are TypeErrors naming the argument", () => {
    assert.throws(
      () => torch.aten.add_Tensor(torch.ones([1]), 3 as unknown as torch.Tensor),
      (e: Error) => e instanceof TypeError && /aten::add\.Tensor: other must be a Tensor/.test(e.message),
    );
    assert.throws(() => torch.aten.sum_dim_IntList(torch.ones([1]), 0.5), /argument 'dim' must be an integer/);
    assert.throws(() => torch.ones([2]).to("float33" as torch.DType), /unknown device|float33/);
  });

  test("the process keeps working after errors", () => {
    for (let i = 0; i < 100; i++) assert.throws(() => torch.ones([2]).view([3]));
    assert.equal(torch.ones([2]).sum().item(), 2);
  });
});
