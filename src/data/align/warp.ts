// Warping RGB images by an affine map on the engine (grid sampling), and the five-point face alignment built on
// it: insightface's `norm_crop`, landmarks -> similarity onto the arcface template -> warped crop.
import * as torch from "../../torch/index.js";
import type { RgbImage } from "../codec.js";
import { estimateSimilarity, invertAffine, type AffineMatrix } from "./similarity.js";
import { arcfaceTemplate, FIVE_POINT_NAMES, type Point } from "./template.js";

const { gridSample } = torch.nn.functional;

/**
 * The image warped by `matrix` (source pixel coordinates -> output pixel coordinates) into an output of
 * [height, width], as `cv2.warpAffine(image, matrix, (width, height))` with its defaults: bilinear interpolation,
 * pixel centres at integer coordinates, and 0 (black) wherever the source point falls outside the image (pixels
 * next to the edge blend with that black, as OpenCV's do).
 */
export function warpAffine(image: RgbImage, matrix: AffineMatrix, size: readonly [number, number]): RgbImage {
  const [height, width] = size;
  if (image.pixels.length !== image.width * image.height * 3) {
    throw new RangeError(`warpAffine: ${image.pixels.length} bytes is not a ${image.height}x${image.width} RGB image`);
  }
  const [[a, b, c], [d, e, f]] = invertAffine(matrix);
  const pixels = torch.tidy(() => {
    const xs = torch.arange(0, width, 1, { dtype: "float64" }).view([1, width]);
    const ys = torch.arange(0, height, 1, { dtype: "float64" }).view([height, 1]);
    // source pixel coordinates of every output pixel, normalized as grid_sample reads them (align_corners
    // false: -1 and 1 are the outer edges of the border pixels, so pixel i's centre is (2i + 1) / n - 1)
    const normalize = (coordinate: torch.Tensor, n: number): torch.Tensor => coordinate.mul(2 / n).add((1 - n) / n);
    const gx = normalize(xs.mul(a).add(ys.mul(b)).add(c), image.width);
    const gy = normalize(xs.mul(d).add(ys.mul(e)).add(f), image.height);
    const grid = torch.stack([gx, gy], 2).unsqueeze(0).float();
    const input = torch.tensor(image.pixels, { shape: [1, image.height, image.width, 3] }).permute([0, 3, 1, 2]);
    const warped = gridSample(input.float(), grid, "bilinear", "zeros", false);
    return warped.squeeze(0).permute([1, 2, 0]).round().clamp(0, 255).to("uint8").contiguous().bytes();
  });
  return { pixels, width, height };
}

/** The similarity that maps five landmarks (left eye, right eye, nose, mouth corners) onto the arcface template. */
export function alignmentMatrix(landmarks: readonly Point[], size = 112): AffineMatrix {
  if (landmarks.length !== FIVE_POINT_NAMES.length || !landmarks.every((p) => p.every(Number.isFinite))) {
    throw new RangeError(
      `alignFace: needs five finite (x, y) landmarks in the order ${FIVE_POINT_NAMES.join(", ")} ` +
        `(got ${JSON.stringify(landmarks)})`,
    );
  }
  return estimateSimilarity(landmarks, arcfaceTemplate(size));
}

/** The aligned size x size face crop of an image, from its five landmarks (insightface's `norm_crop`). */
export function alignFace(image: RgbImage, landmarks: readonly Point[], size = 112): RgbImage {
  return warpAffine(image, alignmentMatrix(landmarks, size), [size, size]);
}
