// From decoded pixels to model input: uint8 HWC images -> float32 [N, 3, H, W] in [-1, 1], (x - 127.5) / 127.5,
// as arcface_torch feeds its backbones.
import * as torch from "../torch/index.js";
import { decodeImage, type DecodeOptions } from "./codec.js";

export type BatchLayout = "nchw" | "channels_last";

/**
 * Turns `n` RGB images of `height` x `width`, packed back to back (NHWC uint8), into a normalized float32
 * tensor [n, 3, height, width]; "channels_last" keeps NHWC memory (no copy of the pixel order), "nchw" makes it
 * contiguous. Images whose entry in `flips` is 1 are mirrored left-right.
 */
export function imagesToTensor(
  pixels: Uint8Array,
  n: number,
  height: number,
  width: number,
  layout: BatchLayout = "channels_last",
  flips?: Uint8Array,
): torch.Tensor {
  if (pixels.length !== n * height * width * 3) {
    throw new RangeError(`imagesToTensor: ${pixels.length} bytes is not ${n} images of ${height}x${width}x3`);
  }
  return torch.tidy(() => {
    let nhwc = torch.tensor(pixels, { shape: [n, height, width, 3] });
    if (flips?.includes(1)) {
      const mirror = torch.tensor(flips, { shape: [n, 1, 1, 1] }).to("bool");
      nhwc = torch.where(mirror, nhwc.flip(2), nhwc);
    }
    // NHWC memory viewed as NCHW is exactly the channels_last layout; elementwise ops keep it. uint8 times a
    // float promotes: the conversion and the scaling are one pass
    const x = nhwc
      .permute([0, 3, 1, 2])
      .mul(1 / 127.5)
      .sub_(1);
    return x.contiguous(layout === "nchw" ? "contiguous" : "channels_last");
  });
}

/** Decodes encoded images (in parallel) and resizes them to `size` ([height, width]) as one normalized batch. */
export async function decodeBatch(
  images: readonly Uint8Array[],
  size: readonly [number, number],
  options: { flip?: boolean; layout?: BatchLayout } = {},
): Promise<torch.Tensor> {
  const decodeOptions: DecodeOptions = { size, flip: options.flip ?? false };
  const decoded = await Promise.all(
    images.map((bytes, i) => decodeImage(bytes, { ...decodeOptions, what: `image ${i}` })),
  );
  const frame = size[0] * size[1] * 3;
  const pixels = new Uint8Array(decoded.length * frame);
  decoded.forEach((image, i) => pixels.set(image.pixels, i * frame));
  return imagesToTensor(pixels, decoded.length, size[0], size[1], options.layout);
}
