// Feature-based distillation on intermediate maps, read from the models' named taps (context.*.features):
// - FitNet hints (Romero et al. 2015): a learned 1x1 regressor maps the student's map to the teacher's channels;
//   mean squared error, averaged over every element (the convention of the hint weights quoted in the literature).
// - Attention transfer (Zagoruyko & Komodakis 2017): spatial maps of channel statistics, mean_c |A_c|^p (p = 1 is
//   the sum-of-absolute-values map; the paper uses p = 2), L2-normalized per sample; squared difference averaged over batch and
//   positions, as the authors' code for which beta = 1000 is quoted.
// - Local structure preservation (Yang et al. 2020): the distribution of each sample's similarities over its k nearest
//   neighbours in the batch, LS_ij = exp(-||z_i - z_j||²) / sum_{m in kNN(i)} exp(-||z_i - z_m||²); KL(teacher ||
//   student) summed over neighbours, averaged over samples. The kernel's minus sign matters: some restatements of
//   the formula drop it, and then the farthest neighbour would weigh most. Neighbours are the teacher's, as the structure being preserved.
// Maps of different spatial sizes are matched by resizing the student's side bilinearly to the teacher's size.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive, rank } from "./check.js";
import { feature, representation, type Loss } from "./context.js";
import { optionalTap, tap } from "./options.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

/** `map` [N, C, H, W] resized to the height and width of `like` (unchanged when they agree). */
function resizeLike(map: Tensor, like: Tensor): Tensor {
  const size: [number, number] = [like.size(2), like.size(3)];
  return map.size(2) === size[0] && map.size(3) === size[1] ? map : F.interpolate(map, size, "bilinear");
}

function sameBatch(loss: string, student: Tensor, teacher: Tensor): void {
  rank(loss, student, teacher.ndim, "the student's map (as the teacher's)");
  if (student.size(0) !== teacher.size(0)) {
    throw new RangeError(
      `loss '${loss}': batch of ${student.size(0)} student maps and ${teacher.size(0)} teacher maps`,
    );
  }
}

/** FitNet's regressor: a 1x1 convolution (with bias) from the student's channel count to the teacher's. */
export class HintRegressor extends torch.nn.Module {
  readonly conv: torch.nn.Conv2d;

  constructor(
    readonly studentChannels: number,
    readonly teacherChannels: number,
  ) {
    super();
    for (const [name, value] of Object.entries({ studentChannels, teacherChannels })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`HintRegressor: ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.conv = this.registerModule("conv", new torch.nn.Conv2d(studentChannels, teacherChannels, 1));
  }

  forward(map: Tensor): Tensor {
    if (map.ndim !== 4 || map.size(1) !== this.studentChannels) {
      throw new RangeError(
        `HintRegressor: expected the student's map [N, ${this.studentChannels}, H, W], got [${map.shape.join(", ")}] ` +
          "(set studentChannels to the channel count of the chosen tap)",
      );
    }
    return this.conv.forward(map);
  }
}

/** FitNet's hint loss: MSE between the regressed student map [N, C_t, h, w] and the teacher's [N, C_t, H, W]. */
export function hintDistance(regressed: Tensor, teacher: Tensor): Tensor {
  const loss = "fitnet";
  rank(loss, teacher, 4, "the teacher's map");
  sameBatch(loss, regressed, teacher);
  if (regressed.size(1) !== teacher.size(1)) {
    throw new RangeError(
      `loss '${loss}': the regressor gives ${regressed.size(1)} channels but the teacher's map has ${teacher.size(1)} ` +
        "(set teacherChannels to it)",
    );
  }
  return torch.tidy(() => F.mseLoss(resizeLike(regressed, teacher), teacher));
}

export interface TapPair {
  /** The student's tap (a stage name, such as `stage3`). */
  student: string;
  /** The teacher's tap; the student's name by default. */
  teacher?: string;
}

/** FitNet hints from the student's tap through `regressor` to the teacher's tap. */
export function fitnetLoss(regressor: HintRegressor, taps: TapPair): Loss {
  return (ctx) =>
    torch.tidy(() =>
      hintDistance(
        regressor.forward(feature(ctx, "student", taps.student, "fitnet")),
        feature(ctx, "teacher", taps.teacher ?? taps.student, "fitnet"),
      ),
    );
}

/** The spatial attention map [N, H, W] of a feature map [N, C, H, W]: mean over channels of |A|^p. */
export function spatialAttention(map: Tensor, p = 2): Tensor {
  rank("at", map, 4, "a feature map");
  return torch.tidy(() =>
    map
      .abs()
      .pow(positive("at", "p", p))
      .mean(1),
  );
}

/** Attention transfer between two feature maps (channel counts may differ). */
export function attentionTransfer(student: Tensor, teacher: Tensor, p = 2): Tensor {
  sameBatch("at", student, teacher);
  return torch.tidy(() => {
    const target = spatialAttention(teacher, p).unsqueeze(1);
    const own = resizeLike(spatialAttention(student, p).unsqueeze(1), target);
    return F.normalize(own.flatten(1))
      .sub(F.normalize(target.flatten(1)))
      .square()
      .mean();
  });
}

/** Attention transfer between the student's and the teacher's taps. */
export function attentionLoss(taps: TapPair & { p?: number }): Loss {
  positive("at", "p", taps.p ?? 2);
  return (ctx) =>
    attentionTransfer(
      feature(ctx, "student", taps.student, "at"),
      feature(ctx, "teacher", taps.teacher ?? taps.student, "at"),
      taps.p,
    );
}

export interface LocalStructureOptions {
  /** Neighbours per sample (8); at most the batch size minus one. */
  k?: number;
  /** L2-normalize the representations first (default), so that the kernel sees distances in [0, 2]. */
  normalize?: boolean;
}

/** LSP between representations [N, F] of the same samples (feature sizes may differ). */
export function localStructure(
  student: Tensor,
  teacher: Tensor,
  { k = 8, normalize = true }: LocalStructureOptions = {},
): Tensor {
  const loss = "lsp";
  rank(loss, student, 2, "the student's representations");
  sameBatch(loss, student, teacher);
  const n = student.size(0);
  if (!Number.isInteger(k) || k < 1 || k > n - 1) {
    throw new RangeError(
      `loss '${loss}': k must be an integer from 1 to the batch size minus one (${n - 1}), got ${k}`,
    );
  }
  return torch.tidy(() => {
    const [zs, zt] = normalize ? [F.normalize(student), F.normalize(teacher)] : [student, teacher];
    const neighbours = torch.noGrad(
      () =>
        F.cdist(zt, zt)
          .maskedFill(torch.eye(n, { dtype: "bool", device: zt.device }), Infinity)
          .topk(k, 1, false)[1],
    );
    // squared distances from each sample to its k neighbours [N, k]
    const distances = (z: Tensor): Tensor =>
      z
        .unsqueeze(1)
        .sub(z.indexSelect(0, neighbours.flatten()).view([n, k, z.size(1)]))
        .square()
        .sum(2);
    const logStudent = F.logSoftmax(distances(zs).neg(), 1);
    const logTeacher = F.logSoftmax(distances(zt).neg(), 1);
    return F.klDiv(logStudent, logTeacher, "batchmean", true);
  });
}

/** LSP on the embeddings, or on the flattened maps of a tap. */
export function lspLoss({ tap, ...options }: LocalStructureOptions & { tap?: string } = {}): Loss {
  return (ctx) =>
    torch.tidy(() =>
      localStructure(representation(ctx, "student", tap, "lsp"), representation(ctx, "teacher", tap, "lsp"), options),
    );
}

const taps = {
  student: tap("student"),
  teacher: z.string().optional().describe("the teacher's tap (the student's name by default)"),
};
defineLoss({
  name: "fitnet",
  summary: "FitNet hints: a learned 1x1 regressor from a student tap to a teacher tap, MSE",
  kind: "feature",
  reads: ["features"],
  options: z.object({
    ...taps,
    studentChannels: z.number().int().positive().describe("channels of the student's tap"),
    teacherChannels: z.number().int().positive().describe("channels of the teacher's tap"),
  }),
  create: ({ studentChannels, teacherChannels, ...pair }, adopt) =>
    fitnetLoss(adopt(new HintRegressor(studentChannels, teacherChannels)), pair),
});
defineLoss({
  name: "at",
  summary: "attention transfer: normalized spatial maps mean_c |A_c|^p of two taps",
  kind: "feature",
  reads: ["features"],
  options: z.object({ ...taps, p: z.number().positive().default(2).describe("the exponent of |A_c|") }),
  create: (o) => attentionLoss(o),
});
defineLoss({
  name: "lsp",
  summary: "local structure preservation: similarity distributions over the k nearest neighbours, KL",
  kind: "relation",
  reads: ["embedding", "features"],
  options: z.object({
    tap: optionalTap,
    k: z.number().int().positive().default(8).describe("neighbours per sample (at most the batch size - 1)"),
    normalize: z.boolean().default(true).describe("L2-normalize the representations first"),
  }),
  create: (o) => lspLoss(o),
});
