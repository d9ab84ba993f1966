// Contrastive representation distillation (Tian, Krishnan & Isola, "Contrastive Representation Distillation",
// ICLR 2020), as its authors' RepDistiller code computes it:
// - both embeddings go through a learned linear head to a 128-d space and are L2-normalized: v_s, v_t;
// - two memory banks hold one such vector per training sample (the student's and the teacher's), updated after
//   each step as m_i <- normalize(mu * m_i + (1 - mu) * v_i), mu = 0.5;
// - for each sample i, the positive is row i of the other model's bank and the K negatives are rows drawn uniformly
//   from the whole training set; the scores are h = exp(v · m / tau) / Z, Z fixed at the first step to
//   mean(exp(v · m / tau)) * n (the Monte-Carlo estimate of the partition function over n samples);
// - the NCE loss (eq. 16) with noise distribution P_n = 1/n and K noise samples:
//   -[log(h_0 / (h_0 + K/n)) + sum_j log((K/n) / (h_j + K/n))], summed over the batch and divided by its size,
//   once with the student's vector against the teacher's bank and once the other way round, the two added.
// Defaults: K = 16384 negatives, tau = 0.07, mu = 0.5, 128-d heads; RepDistiller weights the term beta = 0.8 beside
// cross entropy with weight 1. The banks take datasetSize x 128 x 4 bytes each (about 3 GB for MS1MV2's 5.8M
// images): the sample indices (context.indices) pick their rows, so datasetSize must be the training set's size.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive } from "./check.js";
import { output, teacherEmbedding, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;
const EPS = 1e-7;

/** The weight RepDistiller uses for CRD (beside cross entropy with weight 1). */
export const CRD_WEIGHT = 0.8;

/** exp(bank[contrast] · unit(anchor) / tau) [B, K+1] for anchors [B, F], a bank [n, F] and row indices [B, K+1]. */
export function contrastScores(anchor: Tensor, bank: Tensor, contrast: Tensor, temperature: number): Tensor {
  return torch.tidy(() => {
    const [b, width] = [contrast.size(0), contrast.size(1)];
    const rows = bank.indexSelect(0, contrast.flatten()).view([b, width, bank.size(1)]);
    return rows.bmm(F.normalize(anchor).unsqueeze(2)).squeeze(2).div(temperature).exp();
  });
}

/** The NCE loss of normalized scores [B, K+1] (positive in column 0) with K uniform noise samples out of n. */
export function nceLoss(scores: Tensor, datasetSize: number): Tensor {
  return torch.tidy(() => {
    const k = scores.size(1) - 1;
    const noise = k / datasetSize;
    const positives = scores.narrow(1, 0, 1);
    const negatives = scores.narrow(1, 1, k);
    const logD1 = positives.div(positives.add(noise + EPS)).log();
    const logD0 = negatives
      .add(noise + EPS)
      .reciprocal()
      .mul(noise)
      .log();
    return logD1.sum().add(logD0.sum()).neg().div(scores.size(0));
  });
}

export interface CrdOptions {
  /** Samples in the training set: the rows of each memory bank (required). */
  datasetSize?: number;
  /** The student's embedding size (512). */
  studentSize?: number;
  /** The teacher's embedding size (the student's). */
  teacherSize?: number;
  /** The contrastive space's size (128). */
  featureSize?: number;
  /** Negatives per sample, K (16384). */
  negatives?: number;
  /** tau (0.07). */
  temperature?: number;
  /** The banks' momentum mu (0.5). */
  momentum?: number;
}

const count = (name: string, value: unknown): number => {
  if (!Number.isInteger(value) || (value as number) < 1) {
    throw new RangeError(`loss 'crd': ${name} must be a positive integer, got ${String(value)}`);
  }
  return value as number;
};

/** CRD's learned heads (parameters) and memory banks (buffers), adopted by the objective so that both are saved. */
export class ContrastMemory extends torch.nn.Module<[Tensor, Tensor, Tensor, Tensor?], Tensor> {
  readonly studentHead: torch.nn.Linear;
  readonly teacherHead: torch.nn.Linear;
  /** One row per training sample: the student's (`studentBank`) and the teacher's (`teacherBank`) vectors. */
  readonly studentBank: Tensor;
  readonly teacherBank: Tensor;
  /** Z for the student's and the teacher's scores; -1 until the first step fixes them. */
  readonly normalizers: Tensor;
  readonly datasetSize: number;
  readonly negatives: number;
  readonly temperature: number;
  readonly momentum: number;

  constructor({
    datasetSize,
    studentSize = 512,
    teacherSize = studentSize,
    featureSize = 128,
    negatives = 16384,
    temperature = 0.07,
    momentum = 0.5,
  }: CrdOptions) {
    super();
    if (datasetSize === undefined) {
      throw new RangeError(
        "loss 'crd': set datasetSize to the number of samples in the training set (the banks' rows)",
      );
    }
    this.datasetSize = count("datasetSize", datasetSize);
    this.negatives = count("negatives", negatives);
    this.temperature = positive("crd", "temperature", temperature);
    if (typeof momentum !== "number" || !(momentum >= 0 && momentum < 1)) {
      throw new RangeError(`loss 'crd': momentum must be a number in [0, 1), got ${String(momentum)}`);
    }
    this.momentum = momentum;
    const width = count("featureSize", featureSize);
    this.studentHead = this.registerModule(
      "studentHead",
      new torch.nn.Linear(count("studentSize", studentSize), width),
    );
    this.teacherHead = this.registerModule(
      "teacherHead",
      new torch.nn.Linear(count("teacherSize", teacherSize), width),
    );
    // the authors' initialization: uniform in +-1/sqrt(F/3), the spread of a random unit vector's coordinates
    const spread = 1 / Math.sqrt(width / 3);
    const bank = () =>
      torch
        .rand([this.datasetSize, width])
        .mul_(2 * spread)
        .sub_(spread);
    this.studentBank = this.registerBuffer("studentBank", bank());
    this.teacherBank = this.registerBuffer("teacherBank", bank());
    this.normalizers = this.registerBuffer("normalizers", torch.full([2], -1, { dtype: "float32" }));
  }

  /**
   * The CRD loss of embeddings [B, D_s] and [B, D_t] of the samples at `indices` [B]; `negatives` [B, K] are drawn
   * uniformly when not given. Updates the banks (and fixes Z at the first call).
   */
  forward(student: Tensor, teacher: Tensor, sampleIndices: Tensor, negatives?: Tensor): Tensor {
    this.checkIndices(sampleIndices);
    return torch.tidy(() => {
      // the loader's indices are on the CPU; the banks are where the model is
      const device = this.studentBank.device;
      const indices = sampleIndices.device === device ? sampleIndices : sampleIndices.to({ device });
      const b = indices.size(0);
      const drawn = negatives ?? torch.randint(0, this.datasetSize, [b, this.negatives], { device: indices.device });
      const contrast = torch.cat([indices.unsqueeze(1), drawn], 1);
      const vs = this.studentHead.forward(student);
      const vt = this.teacherHead.forward(teacher.detach());
      const studentScores = contrastScores(vs, this.teacherBank, contrast, this.temperature);
      const teacherScores = contrastScores(vt, this.studentBank, contrast, this.temperature);
      if (this.normalizers.amin().item() < 0) {
        const z = torch.stack([studentScores.mean(), teacherScores.mean()]).detach().mul(this.datasetSize);
        torch.noGrad(() => this.normalizers.copy_(z));
      }
      const [zs, zt] = this.normalizers.toNumbers();
      const loss = nceLoss(studentScores.div(zs!), this.datasetSize).add(
        nceLoss(teacherScores.div(zt!), this.datasetSize),
      );
      this.update(this.studentBank, indices, vs);
      this.update(this.teacherBank, indices, vt);
      return loss;
    });
  }

  private update(bank: Tensor, indices: Tensor, vectors: Tensor): void {
    torch.noGrad(() =>
      torch.tidy(() => {
        const moved = bank
          .indexSelect(0, indices)
          .mul(this.momentum)
          .add(F.normalize(vectors.detach()).mul(1 - this.momentum));
        torch.aten.index_put_(bank, [indices], F.normalize(moved).to({ dtype: bank.dtype }));
      }),
    );
  }

  private checkIndices(indices: Tensor): void {
    if (indices.dtype !== "int64" || indices.ndim !== 1) {
      throw new TypeError(`loss 'crd': sample indices must be int64 [B], got ${indices.dtype} [${indices.shape}]`);
    }
    const [low, high] = torch.tidy(() => [indices.min().item(), indices.max().item()]);
    if (low < 0 || high >= this.datasetSize) {
      throw new RangeError(
        `loss 'crd': sample indices run from ${low} to ${high} but the memory banks hold datasetSize = ` +
          `${this.datasetSize} rows: set datasetSize to the number of samples in the training set`,
      );
    }
  }
}

/** CRD through `memory` on the student's embedding and the teacher's (live, or precomputed at context.indices). */
export function crdLoss(memory: ContrastMemory): Loss {
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "embedding", "crd");
      if (!ctx.indices) {
        throw new Error("loss 'crd' needs the batch's sample indices (its memory banks' rows): set context.indices");
      }
      return memory.forward(student, teacherEmbedding(ctx, "crd", student), ctx.indices);
    });
}

defineLoss({
  name: "crd",
  summary: "CRD: NCE between 128-d projections of both embeddings and memory banks over the dataset (K 16384)",
  kind: "embedding",
  reads: ["embedding", "indices", "precomputed"],
  options: z.object({
    datasetSize: z.number().int().positive().optional().describe("samples in the training set (the banks' rows)"),
    studentSize: z.number().int().positive().optional().describe("the student's embedding size (512)"),
    teacherSize: z.number().int().positive().optional().describe("the teacher's embedding size (512)"),
    featureSize: z.number().int().positive().optional().describe("the projections' size (128)"),
    negatives: z.number().int().positive().optional().describe("noise samples K (16384)"),
    temperature: z.number().positive().optional().describe("tau (0.07)"),
    momentum: z.number().optional().describe("the banks' update rate (0.5)"),
  }),
  create: (o, adopt) => crdLoss(adopt(new ContrastMemory(o))),
});
