// Debian's libtorch 2.6 gets channels_last 1x1 convolutions into 512 channels wrong on two or more threads; conv2d
// probes for that once and then runs 1x1 convolutions on one thread, so its values are right on any libtorch.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { channelsLastConvIsWrong } from "../../src/torch/nn/pointwise-conv-probe.js";

const F = torch.nn.functional;

test("conv2d: a channels_last 1x1 convolution into 512 channels at 7x7 equals the contiguous one on 2 threads", () => {
  torch.withNumThreads(2, () =>
    torch.tidy(() => {
      torch.manualSeed(11);
      const x = torch.randn([4, 256, 7, 7]);
      for (const w of [torch.randn([512, 256, 1, 1]), torch.randn([128, 256, 1, 1])]) {
        const expected = F.conv2d(x, w);
        const got = F.conv2d(x.contiguous("channels_last"), w);
        assert.ok(got.isContiguous("channels_last"), "the output keeps the input's layout");
        const error = got.sub(expected).abs().max().item() / expected.abs().max().item();
        assert.ok(error < 1e-5, `relative error ${error} with ${w.shape[0]} output channels`);
      }
    }),
  );
});

test("the probe tells a wrong channels_last convolution from libtorch's contiguous one", () => {
  const right = (x: torch.Tensor, w: torch.Tensor) => F.conv2d(x.contiguous("contiguous"), w);
  assert.equal(channelsLastConvIsWrong(right), false);
  // the error the 2.6 build makes: up to 40% of the outputs' magnitude, here one output channel off by a half
  const wrong = (x: torch.Tensor, w: torch.Tensor) => {
    const y = right(x, w);
    const channel = torch.arange(0, 512).eq(7).to("float32").view([1, 512, 1, 1]);
    return y.add(channel.mul(y.abs().max().mul(0.5)));
  };
  assert.equal(channelsLastConvIsWrong(wrong), true);
});
