// Debian's libtorch 2.6 computes 1x1 convolutions in the channels_last format into many channels wrongly on two or
// more threads: 512 to 512 channels at 7x7 is off by up to 23 on outputs of magnitude 54, while one thread and the
// contiguous format are right. Whether this libtorch has the bug is probed once, on that shape, at the first 1x1
// convolution on several threads; where it does, conv2d runs every 1x1 convolution on one thread. (Forcing the
// contiguous format would not do: libtorch picks channels_last when the weight is, and a 1x1 weight's strides
// cannot be told apart without a copy.)
import * as aten from "../generated/aten.js";
import { noGrad } from "../autograd.js";
import { unobserved } from "../dispatch.js";
import { arange } from "../creation.js";
import { getNumThreads, withNumThreads } from "../runtime.js";
import { tidy } from "../scope.js";
import type { Tensor } from "../tensor.js";

let broken: boolean | undefined;

/** Whether conv2d must run this convolution on one thread to get the right values. */
export function pointwiseNeedsOneThread(input: Tensor, weight: Tensor, groups: number): boolean {
  // once the probe has found this libtorch right (1.13), convolutions pay one comparison, no native call
  return (
    broken !== false &&
    groups === 1 &&
    weight.shape[2] === 1 &&
    weight.shape[3] === 1 &&
    getNumThreads() > 1 &&
    input.device === "cpu" &&
    (broken ??= probe())
  );
}

/**
 * Whether `conv` (a 1x1 convolution, stride 1) of a channels_last input disagrees with libtorch's contiguous-format
 * convolution on the failing shape, at two threads or more. No random numbers are drawn.
 */
export function channelsLastConvIsWrong(conv: (x: Tensor, w: Tensor) => Tensor): boolean {
  return withNumThreads(Math.max(2, getNumThreads()), () =>
    noGrad(() =>
      tidy(() => {
        const x = aten.sin(arange(0, 2 * 512 * 49).mul(0.37)).view([2, 512, 7, 7]);
        const w = aten
          .cos(arange(0, 512 * 512).mul(0.11))
          .mul(1 / Math.sqrt(512))
          .view([512, 512, 1, 1]);
        const expected = aten.conv2d(x, w, null, 1, 0, 1, 1);
        const got = conv(x.contiguous("channels_last"), w);
        // a relative 5% leaves room for reduced-precision autocast; the bug is off by 40%
        return got.sub(expected).abs().max().item() > 0.05 * expected.abs().max().item();
      }),
    ),
  );
}

function probe(): boolean {
  // the first 1x1 convolution may run inside an ONNX export's trace, which must not record the probe
  const wrong = unobserved(() => channelsLastConvIsWrong((x, w) => aten.conv2d(x, w, null, 1, 0, 1, 1)));
  if (wrong) {
    process.emitWarning(
      "this libtorch computes channels_last 1x1 convolutions wrongly on several threads (a known bug of Debian's " +
        "libtorch 2.6, see docs/libtorch-versions.md): facekd runs 1x1 convolutions on one thread, which is slower",
      { code: "FACEKD_POINTWISE_CONV" },
    );
  }
  return wrong;
}
