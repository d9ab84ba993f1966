import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { assertClose } from "../helpers/gradcheck.js";

describe("tensors", () => {
  test("every dtype round-trips through typed arrays", () => {
    const cases: [torch.DType, ArrayLike<number | bigint>][] = [
      ["float32", new Float32Array([1.5, -2])],
      ["float64", new Float64Array([1.25, 3])],
      ["int64", new BigInt64Array([5n, -7n])],
      ["int32", new Int32Array([9, -1])],
      ["uint8", new Uint8Array([0, 255])],
    ];
    for (const [dtype, data] of cases) {
      const t = torch.tensor(data as Float32Array, { shape: [2] });
      assert.equal(t.dtype, dtype);
      assert.deepEqual(Array.from(t.data() as ArrayLike<number | bigint>), Array.from(data));
    }
    const half = torch.tensor([0.5, 2], { dtype: "float16" });
    assert.equal(half.dtype, "float16");
    assert.deepEqual(Array.from(half.data() as Uint16Array), [0x3800, 0x4000]); // IEEE half bit patterns
    assert.deepEqual(torch.tensor([1, 0, 3], { dtype: "bool" }).toNumbers(), [1, 0, 1]);
    assert.deepEqual(torch.tensor([1.5, -3], { dtype: "bfloat16" }).toNumbers(), [1.5, -3]);
  });

  test("creation functions give the documented shapes, dtypes and values", () => {
    assert.deepEqual(torch.zeros([2, 3]).toNumbers(), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(torch.ones([2], { dtype: "int32" }).toNumbers(), [1, 1]);
    assert.deepEqual(torch.full([2], 7).toNumbers(), [7, 7]);
    assert.deepEqual(torch.arange(4).toNumbers(), [0, 1, 2, 3]);
    assert.equal(torch.arange(4).dtype, "int64");
    assert.deepEqual(torch.arange(1, 2, 0.25).toNumbers(), [1, 1.25, 1.5, 1.75]);
    assert.deepEqual(torch.eye(2).toNumbers(), [1, 0, 0, 1]);
    assert.deepEqual(torch.empty([3, 0]).shape, [3, 0]);
    const r = torch.rand([1000]);
    assert.ok(r.min().item() >= 0 && r.max().item() < 1);
    const ri = torch.randint(3, 6, [1000]);
    assert.equal(ri.dtype, "int64");
    assert.ok(ri.min().item() === 3 && ri.max().item() === 5);
    assert.deepEqual(torch.randperm(5).sort()[0].toNumbers(), [0, 1, 2, 3, 4]);
    assert.throws(() => torch.tensor([[1, 2], [3]]), /rectangular/);
  });

  test("manualSeed makes sampling and dropout repeatable", () => {
    const draw = (): number[] => {
      torch.manualSeed(42);
      return [...torch.randn([3]).toNumbers(), ...torch.nn.functional.dropout(torch.ones([8]), 0.5).toNumbers()];
    };
    assert.deepEqual(draw(), draw());
    torch.manualSeed(43);
    assert.notDeepEqual(torch.randn([3]).toNumbers(), draw().slice(0, 3));
  });

  test("to() converts dtype and memory format; item() reads scalars", () => {
    const t = torch.tensor([1.7, -2.2]);
    assert.deepEqual(t.to("int64").toNumbers(), [1, -2]);
    assert.equal(t.to({ dtype: "float64" }).dtype, "float64");
    assert.equal(torch.scalar(3.5).item(), 3.5);
    const x = torch.randn([2, 3, 4, 5]);
    const cl = x.contiguous("channels_last");
    assert.ok(cl.isContiguous("channels_last") && !cl.isContiguous());
    assert.ok(torch.equal(cl, x));
    assert.equal(x.to({ device: "cpu" }).device, "cpu");
  });

  test("broadcasting arithmetic matches hand-computed values", () => {
    const a = torch.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = torch.tensor([10, 20, 30]);
    assert.deepEqual(a.add(b).toNumbers(), [11, 22, 33, 14, 25, 36]);
    assert.deepEqual(a.sub(1).toNumbers(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(a.mul(b.reshape([1, 3])).toNumbers(), [10, 40, 90, 40, 100, 180]);
    assert.deepEqual(a.div(2).toNumbers(), [0.5, 1, 1.5, 2, 2.5, 3]);
    assert.deepEqual(a.pow(2).toNumbers(), [1, 4, 9, 16, 25, 36]);
    assert.deepEqual(a.neg().abs().toNumbers(), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(a.clamp(2, 5).toNumbers(), [2, 2, 3, 4, 5, 5]);
    assertClose(torch.tensor([1, 4]).sqrt().toNumbers(), [1, 2]);
    assertClose(torch.tensor([4]).rsqrt().toNumbers(), [0.5]);
    assertClose(torch.tensor([0, 1]).exp().log().toNumbers(), [0, 1]);
    assertClose(torch.tensor([0]).acos().toNumbers(), [Math.PI / 2]);
    assertClose(
      torch
        .tensor([0])
        .cos()
        .add(torch.tensor([0]).sin())
        .toNumbers(),
      [1],
    );
    assert.deepEqual(torch.where(a.gt(3), a, 0).toNumbers(), [0, 0, 0, 4, 5, 6]);
    assert.deepEqual(a.eq(2).toNumbers(), [0, 1, 0, 0, 0, 0]);
    assert.deepEqual(a.le(torch.tensor([1, 5, 3])).toNumbers(), [1, 1, 1, 0, 1, 0]);
    assert.deepEqual(torch.arange(7).div(2, "floor").toNumbers(), [0, 0, 1, 1, 2, 2, 3]);
  });

  test("reductions along dims", () => {
    const a = torch.tensor([
      [1, 5, 3],
      [4, 2, 6],
    ]);
    assert.equal(a.sum().item(), 21);
    assert.deepEqual(a.sum(0).toNumbers(), [5, 7, 9]);
    assert.deepEqual(a.mean(1, true).shape, [2, 1]);
    assert.deepEqual(a.mean(1).toNumbers(), [3, 4]);
    assertClose(a.var(1).toNumbers(), [4, 4]);
    assertClose(a.var(1, { correction: 0 }).toNumbers(), [8 / 3, 8 / 3]);
    assertClose(a.std().toNumbers(), [Math.sqrt(3.5)]);
    const [values, indices] = a.max(1);
    assert.deepEqual(values.toNumbers(), [5, 6]);
    assert.deepEqual(indices.toNumbers(), [1, 2]);
    assert.deepEqual(a.min(0)[0].toNumbers(), [1, 2, 3]);
    assert.deepEqual(a.argmax(1).toNumbers(), [1, 2]);
    assert.deepEqual(a.topk(2, 1)[0].toNumbers(), [5, 3, 6, 4]);
    assert.deepEqual(a.sort(1, true)[1].toNumbers(), [1, 2, 0, 2, 0, 1]);
    assert.deepEqual(a.cumsum(1).toNumbers(), [1, 6, 9, 4, 6, 12]);
    assertClose(torch.tensor([3, 4]).norm().toNumbers(), [5]);
    assertClose(torch.tensor([3, -4]).norm(1).toNumbers(), [7]);
    assertClose(a.logsumexp(1).toNumbers(), [
      Math.log(Math.E + Math.E ** 5 + Math.E ** 3),
      Math.log(Math.E ** 4 + Math.E ** 2 + Math.E ** 6),
    ]);
  });

  test("shape and indexing ops", () => {
    const a = torch.arange(6).reshape([2, 3]);
    assert.deepEqual(a.t().toNumbers(), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(a.permute([1, 0]).shape, [3, 2]);
    assert.deepEqual(a.flip(1).toNumbers(), [2, 1, 0, 5, 4, 3]);
    assert.deepEqual(a.unsqueeze(0).shape, [1, 2, 3]);
    assert.deepEqual(a.unsqueeze(0).squeeze().shape, [2, 3]);
    assert.deepEqual(a.flatten().shape, [6]);
    assert.deepEqual(a.view([3, 2]).shape, [3, 2]);
    assert.deepEqual(torch.tensor([1, 2]).reshape([2, 1]).expand([2, 3]).toNumbers(), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(torch.cat([a, a], 0).shape, [4, 3]);
    assert.deepEqual(torch.stack([a, a], 0).shape, [2, 2, 3]);
    assert.deepEqual(
      a.chunk(3, 1).map((c) => c.toNumbers()),
      [
        [0, 3],
        [1, 4],
        [2, 5],
      ],
    );
    assert.deepEqual(
      a.split([1, 2], 1).map((c) => c.shape),
      [
        [2, 1],
        [2, 2],
      ],
    );
    const idx = torch.tensor(new BigInt64Array([2n, 0n]));
    assert.deepEqual(a.indexSelect(1, idx).toNumbers(), [2, 0, 5, 3]);
    const g = torch.tensor(new BigInt64Array([0n, 2n, 1n, 1n]), { shape: [2, 2] });
    assert.deepEqual(a.gather(1, g).toNumbers(), [0, 2, 4, 4]);
    assert.deepEqual(torch.zeros([2, 3]).scatter(1, g, 1).toNumbers(), [1, 0, 1, 0, 1, 0]);
    assert.deepEqual(a.maskedSelect(a.gt(3)).toNumbers(), [4, 5]);
    assert.deepEqual(a.maskedFill(a.lt(2), -1).toNumbers(), [-1, -1, 2, 3, 4, 5]);
    assert.deepEqual(torch.nn.functional.oneHot(idx, 3).toNumbers(), [0, 0, 1, 1, 0, 0]);
    assert.deepEqual(a.index([idx.narrow(0, 1, 1)]).toNumbers(), [0, 1, 2]);
  });

  test("matrix products", () => {
    const a = torch.tensor([
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(a.mm(a).toNumbers(), [7, 10, 15, 22]);
    assert.deepEqual(a.matmul(torch.tensor([1, 1])).toNumbers(), [3, 7]);
    assert.deepEqual(torch.stack([a, a]).bmm(torch.stack([a, a])).shape, [2, 2, 2]);
    assert.deepEqual(torch.einsum("ij,jk->ik", [a, a]).toNumbers(), [7, 10, 15, 22]);
  });
});
