// Stateless neural-network functions (torch.nn.functional), named as in PyTorch.
import * as aten from "../generated/aten.js";
import { tidy } from "../scope.js";
import { isGradEnabled } from "../autograd.js";
import type { Tensor } from "../tensor.js";
import { withNumThreads } from "../runtime.js";
import { pointwiseNeedsOneThread } from "./pointwise-conv-probe.js";

type Pair = number | readonly [number, number];
export type Reduction = "none" | "mean" | "sum";
const REDUCTION: Record<Reduction, number> = { none: 0, mean: 1, sum: 2 }; // at::Reduction

function reductionCode(reduction: Reduction): number {
  const code = REDUCTION[reduction];
  if (code === undefined) throw new TypeError(`reduction must be 'none', 'mean' or 'sum', got '${String(reduction)}'`);
  return code;
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  if (pointwiseNeedsOneThread(input, weight, o.groups ?? 1))
    return withNumThreads(1, () => convolve(input, weight, bias, o));
  return convolve(input, weight, bias, o);
}

function convolve(input: Tensor, weight: Tensor, bias: Tensor | null, o: Conv2dOptions): Tensor {
  const [sh, sw] = pair(o.stride ?? 1);
  const padded = pair(o.padding ?? 0).some((p) => p !== 0);
  // A 1x1 convolution with stride s and no padding reads every s-th pixel, so where autograd will differentiate it,
  // it runs as that subsample convolved with stride 1: libtorch 1.13's channels_last backward of strided 1x1
  // convolutions corrupts the heap for some shapes (IResNet downsampling with 8 input channels at 48x48: PyTorch
  // 1.13 crashes alike). Inference (and the ONNX export's trace) keeps the one strided op.
  const differentiated = isGradEnabled() && (input.requiresGrad || weight.requiresGrad);
  const groups = o.groups ?? 1;
  if (differentiated && weight.shape[2] === 1 && weight.shape[3] === 1 && (sh > 1 || sw > 1) && !padded) {
    const subsample = aten.slice_Tensor(aten.slice_Tensor(input, 2, 0, null, sh), 3, 0, null, sw);
    return aten.conv2d(subsample, weight, bias, 1, 0, o.dilation ?? 1, groups);
  }
  return aten.conv2d(input, weight, bias, [sh, sw], o.padding ?? 0, o.dilation ?? 1, groups);
}

const pair = (v: number | readonly number[]): [number, number] =>
  typeof v === "number" ? [v, v] : [v[0]!, v[1] ?? v[0]!];

export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return aten.linear(input, weight, bias);
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalization; in training mode the running statistics are updated in place. */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  o: BatchNormOptions = {},
): Tensor {
  return aten.batch_norm(
    input,
    o.weight ?? null,
    o.bias ?? null,
    runningMean,
    runningVar,
    o.training ?? false,
    o.momentum ?? 0.1,
    o.eps ?? 1e-5,
    true,
  );
}

export function prelu(input: Tensor, weight: Tensor): Tensor {
  return aten.prelu(input, weight);
}

export function relu(input: Tensor): Tensor {
  return aten.relu(input);
}

export function leakyRelu(input: Tensor, negativeSlope = 0.01): Tensor {
  return aten.leaky_relu(input, negativeSlope);
}

export function sigmoid(input: Tensor): Tensor {
  return aten.sigmoid(input);
}

export function tanh(input: Tensor): Tensor {
  return aten.tanh(input);
}

export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  return aten.dropout(input, p, training);
}

export function avgPool2d(input: Tensor, kernelSize: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  return aten.avg_pool2d(input, kernelSize, stride ?? kernelSize, padding);
}

export function maxPool2d(input: Tensor, kernelSize: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  return aten.max_pool2d(input, kernelSize, stride ?? kernelSize, padding);
}

export function adaptiveAvgPool2d(input: Tensor, outputSize: Pair): Tensor {
  return aten.adaptive_avg_pool2d(input, outputSize);
}

export function adaptiveMaxPool2d(input: Tensor, outputSize: Pair): Tensor {
  return aten.adaptive_max_pool2d(input, outputSize)[0];
}

/** Resizes [N, C, H, W] to `size` with nearest or bilinear interpolation. */
export function interpolate(
  input: Tensor,
  size: readonly [number, number],
  mode: "nearest" | "bilinear" = "nearest",
  alignCorners = false,
): Tensor {
  return mode === "bilinear"
    ? aten.upsample_bilinear2d_vec(input, size, alignCorners, null)
    : aten.upsample_nearest2d_vec(input, size, null);
}

/**
 * Samples [N, C, H, W] at the points of `grid` ([N, Ho, Wo, 2], (x, y) normalized to [-1, 1]), as F.grid_sample;
 * points outside read 0 with padding "zeros".
 */
export function gridSample(
  input: Tensor,
  grid: Tensor,
  mode: "bilinear" | "nearest" | "bicubic" = "bilinear",
  padding: "zeros" | "border" | "reflection" = "zeros",
  alignCorners = false,
): Tensor {
  const modeCode = ["bilinear", "nearest", "bicubic"].indexOf(mode);
  const paddingCode = ["zeros", "border", "reflection"].indexOf(padding);
  return aten.grid_sampler_2d(input, grid, modeCode, paddingCode, alignCorners);
}

/** Pads the last dimensions: `pad` lists (before, after) pairs starting from the last dimension. */
export function pad(
  input: Tensor,
  padding: readonly number[],
  mode: "constant" | "reflect" | "replicate" | "circular" = "constant",
  value = 0,
): Tensor {
  return aten.pad(input, padding, mode, mode === "constant" ? value : null);
}

/** x / max(||x||_p, eps) along dim (L2 by default), as F.normalize. */
export function normalize(input: Tensor, p = 2, dim = 1, eps = 1e-12): Tensor {
  return tidy(() => input.div(aten.linalg_vector_norm(input, p, dim, true, null).clampMin(eps).expandAs(input)));
}

export function softmax(input: Tensor, dim: number): Tensor {
  return aten.softmax_int(input, dim, null);
}

export function logSoftmax(input: Tensor, dim: number): Tensor {
  return aten.log_softmax_int(input, dim, null);
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy of logits [N, C] against class indices [N] (int64). */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return aten.cross_entropy_loss(
    logits,
    target,
    o.weight ?? null,
    reductionCode(o.reduction ?? "mean"),
    o.ignoreIndex ?? -100,
    o.labelSmoothing ?? 0,
  );
}

export function nllLoss(logProbs: Tensor, target: Tensor, o: Omit<CrossEntropyOptions, "labelSmoothing"> = {}): Tensor {
  return aten.nll_loss_nd(
    logProbs,
    target,
    o.weight ?? null,
    reductionCode(o.reduction ?? "mean"),
    o.ignoreIndex ?? -100,
  );
}

/**
 * KL divergence with PyTorch's convention: `input` holds log-probabilities, `target` probabilities (or
 * log-probabilities when logTarget). "batchmean" divides the sum by the batch size, the mathematically
 * correct KL per sample.
 */
export function klDiv(
  input: Tensor,
  target: Tensor,
  reduction: Reduction | "batchmean" = "mean",
  logTarget = false,
): Tensor {
  if (reduction === "batchmean") {
    return tidy(() => aten.kl_div(input, target, REDUCTION.sum, logTarget).div(input.size(0)));
  }
  return aten.kl_div(input, target, reductionCode(reduction), logTarget);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return aten.mse_loss(input, target, reductionCode(reduction));
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return aten.l1_loss(input, target, reductionCode(reduction));
}

export function smoothL1Loss(input: Tensor, target: Tensor, reduction: Reduction = "mean", beta = 1): Tensor {
  return aten.smooth_l1_loss(input, target, reductionCode(reduction), beta);
}

export function cosineSimilarity(a: Tensor, b: Tensor, dim = 1, eps = 1e-8): Tensor {
  return aten.cosine_similarity(a, b, dim, eps);
}

/** Pairwise p-norm distances between the rows of a [.., P, M] and b [.., R, M]. */
export function cdist(a: Tensor, b: Tensor, p = 2): Tensor {
  return aten.cdist(a, b, p, null);
}

/** One-hot int64 encoding of class indices. */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return aten.one_hot(indices, numClasses);
}
