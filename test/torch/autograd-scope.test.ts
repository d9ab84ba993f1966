import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";

describe("autograd", () => {
  test("backward fills .grad and accumulates across calls", () => {
    const x = torch.tensor([1, 2, 3], { requiresGrad: true });
    x.pow(2).sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [2, 4, 6]);
    x.mul(3).sum().backward();
    assert.deepEqual(x.grad!.toNumbers(), [5, 7, 9]);
    x.grad = null;
    assert.equal(x.grad, null);
  });

  test("retainGraph allows a second backward; an explicit gradient seeds non-scalars", () => {
    const x = torch.tensor([2], { requiresGrad: true });
    const y = x.pow(3);
    y.backward(undefined, { retainGraph: true });
    y.backward(undefined);
    assert.deepEqual(x.grad!.toNumbers(), [24]);
    const v = torch.tensor([1, 2], { requiresGrad: true });
    v.mul(v).backward(torch.tensor([1, 10]));
    assert.deepEqual(v.grad!.toNumbers(), [2, 40]);
  });

  test("noGrad, enableGrad, detach and requiresGrad_", () => {
    const x = torch.ones([2]).requiresGrad_();
    assert.equal(x.requiresGrad, true);
    assert.equal(
      torch.noGrad(() => x.mul(2).requiresGrad),
      false,
    );
    assert.equal(
      torch.noGrad(() => torch.enableGrad(() => x.mul(2).requiresGrad)),
      true,
    );
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.mul(2).detach().requiresGrad, false);
    assert.throws(() => torch.noGrad(() => x.sum()).backward(), /does not require grad/);
  });
});

describe("memory scopes", () => {
  test("tidy disposes what it made except its result, which moves to the enclosing scope", () => {
    let inner: torch.Tensor | undefined;
    let kept: torch.Tensor | undefined;
    const outer = torch.tidy(() => {
      const result = torch.tidy(() => {
        inner = torch.ones([2]);
        kept = torch.keep(torch.zeros([1]));
        return { sum: inner.add(1), list: [inner.mul(2)] };
      });
      assert.equal(inner!.isDisposed, true);
      assert.equal(result.sum.isDisposed, false);
      assert.equal(torch.trackedCount(), 2);
      return result.sum;
    });
    assert.deepEqual(outer.toNumbers(), [2, 2]);
    assert.equal(kept!.isDisposed, false);
    assert.equal(torch.trackedCount(), 0);
  });

  test("a throwing tidy frees everything it made", () => {
    let made: torch.Tensor | undefined;
    assert.throws(() =>
      torch.tidy(() => {
        made = torch.ones([2]);
        throw new Error("boom");
      }),
    );
    assert.equal(made!.isDisposed, true);
  });

  test("using a disposed tensor throws a clear error", () => {
    const t = torch.ones([2]);
    t.dispose();
    t.dispose(); // idempotent
    assert.throws(() => t.add(1), /disposed/);
    assert.throws(() => t.shape, /disposed/);
  });

  test("`using` declarations dispose at the end of the block", () => {
    let escaped: torch.Tensor;
    {
      using t = torch.ones([2]);
      escaped = t;
      assert.equal(t.isDisposed, false);
    }
    assert.equal(escaped.isDisposed, true);
  });
});
