// Partial FC (An et al. 2022; arcface_torch's partial_fc_v2.py on one process): the class centres of a margin
// softmax, of which each training step uses only a random fraction, always including the batch's own classes, so
// that the logits matrix has sampleRate * numClasses columns instead of numClasses. With sampleRate 1 (or in eval
// mode) it is the plain full-softmax margin head.
import * as torch from "../../torch/index.js";
import type { Tensor } from "../../torch/index.js";
import { cosineLogits, type CombinedMargin } from "./margins.js";

const { nn } = torch;
const F = nn.functional;

export interface PartialFCOptions {
  margin: CombinedMargin;
  embeddingSize: number;
  numClasses: number;
  /** Fraction of the class centres used per training step (1 = all). */
  sampleRate?: number;
}

export interface PartialFCLogits {
  /** Margin-adjusted, scaled logits [N, classes.length]. */
  logits: Tensor;
  /** The labels as column indices into `logits`. */
  targets: Tensor;
  /** The class index of each logit column, ascending (all classes when nothing is sampled). */
  classes: Tensor;
}

/** Throws a RangeError, prefixed with `where`, for a class count, embedding size or sample rate out of range. */
export function checkPartialFCOptions(
  where: string,
  { embeddingSize, numClasses, sampleRate }: PartialFCOptions,
): void {
  if (!Number.isInteger(numClasses) || numClasses < 1)
    throw new RangeError(`${where}: numClasses must be a positive integer, got ${numClasses}`);
  if (!Number.isInteger(embeddingSize) || embeddingSize < 1)
    throw new RangeError(`${where}: embeddingSize must be a positive integer, got ${embeddingSize}`);
  if (!(sampleRate !== undefined && sampleRate > 0 && sampleRate <= 1))
    throw new RangeError(`${where}: sampleRate must be in (0, 1], got ${sampleRate}`);
}

/**
 * The ascending indices of the classes a sampled step uses, from a random `score` in [0, 1) per class: every
 * class in `positives`, then the highest-scored others up to numSample (all positives are kept even when they
 * outnumber numSample).
 */
export function pickClasses(score: Tensor, positives: Tensor, numSample: number): Tensor {
  return torch.tidy(() => {
    const marked = score.scatter(0, positives, 2); // positives above every random score
    const count = marked.ge(2).sum().item();
    const [, picked] = marked.topk(Math.max(numSample, count));
    return picked.sort()[0];
  });
}

export class PartialFC extends nn.Module<[Tensor, Tensor], Tensor> {
  readonly margin: CombinedMargin;
  readonly numClasses: number;
  readonly sampleRate: number;
  /** How many class centres a sampled step uses. */
  readonly numSample: number;
  /**
   * The class centres [numClasses, embeddingSize] (state-dict key `weight`, as arcface_torch). Give them to the
   * optimizer with the backbone's parameters: its state (SGD's momentum buffer) is their optimizer state.
   */
  readonly weight: torch.nn.Parameter;

  constructor({ margin, embeddingSize, numClasses, sampleRate = 1 }: PartialFCOptions) {
    super();
    checkPartialFCOptions("PartialFC", { margin, embeddingSize, numClasses, sampleRate });
    this.margin = margin;
    this.numClasses = numClasses;
    this.sampleRate = sampleRate;
    this.numSample = Math.floor(sampleRate * numClasses);
    // arcface_torch's initialization: normal(0, 0.01)
    this.weight = this.registerParameter("weight", torch.randn([numClasses, embeddingSize]).mul_(0.01));
  }

  /** The mean margin-softmax cross entropy of embeddings [N, D] against labels [N] (int64 class indices). */
  forward(embeddings: Tensor, labels: Tensor): Tensor {
    return torch.tidy(() => {
      const { logits, targets } = this.logits(embeddings, labels);
      return F.crossEntropy(logits, targets);
    });
  }

  /** The logits of a step: over sampled centres in training mode when sampleRate < 1, else over all of them. */
  logits(embeddings: Tensor, labels: Tensor): PartialFCLogits {
    this.checkLabels(labels, embeddings);
    return torch.tidy(() => {
      const sampling = this.training && this.numSample < this.numClasses;
      const classes = sampling ? this.sampleClasses(labels) : torch.arange(this.numClasses);
      const targets = sampling ? torch.aten.searchsorted_Tensor(classes, labels) : labels.clone();
      const centres = sampling ? this.weight.indexSelect(0, classes) : this.weight;
      const logits = this.margin.apply(cosineLogits(embeddings, centres), targets);
      return { logits, targets, classes };
    });
  }

  /**
   * The ascending class indices of one sampled step: every class in `labels`, then random others up to numSample
   * (all of the batch's classes are kept even when they outnumber numSample).
   */
  sampleClasses(labels: Tensor): Tensor {
    return torch.noGrad(() => torch.tidy(() => pickClasses(torch.rand([this.numClasses]), labels, this.numSample)));
  }

  private checkLabels(labels: Tensor, embeddings: Tensor): void {
    const where = "PartialFC";
    if (labels.dtype !== "int64" || labels.ndim !== 1 || labels.size(0) !== embeddings.size(0)) {
      throw new TypeError(
        `${where}: labels must be int64 [${embeddings.size(0)}] (one per embedding), got ${labels.dtype} [${labels.shape.join(", ")}]`,
      );
    }
    if (embeddings.ndim !== 2 || embeddings.size(1) !== this.weight.size(1)) {
      throw new RangeError(
        `${where}: embeddings must be [N, ${this.weight.size(1)}], got [${embeddings.shape.join(", ")}]`,
      );
    }
    const [low, high] = torch.tidy(() => [labels.min().item(), labels.max().item()]);
    if (labels.numel() > 0 && (low! < 0 || high! >= this.numClasses)) {
      throw new RangeError(`${where}: labels must lie in [0, ${this.numClasses}), got values from ${low} to ${high}`);
    }
  }
}
