// AdaDistill (Boutros, Štruc & Damer, "AdaDistill: Adaptive Knowledge Distillation for Deep Face Recognition",
// ECCV 2024): distillation inside the margin softmax. The student is trained with ArcFace (or CosFace) whose class
// centres are not learned but distilled from the teacher: after each batch, for each sample i of class y,
//   w_y <- alpha_i * w_y + (1 - alpha_i) * k_i,   alpha_i = clamp(cos(q_i, k_i) * clamp(cos(w_y, k_i), 1e-6, 1), 1e-6, 1),
// q and k the L2-normalized student and teacher embeddings. Early on the student is far from the teacher (small
// alpha): the centre follows the current teacher embedding, an easy target; as the student catches up the centre
// averages over more of the class, a harder one. No hyper-parameter beyond the margin's. As the authors' code, the
// centres are updated before the batch's loss is computed, start as normal(0, 0.01) and are never given to the
// optimizer: they are a buffer (`weight`, [classes, D]) of a module adopted by the objective, saved with the run.
// Where a class occurs more than once in a batch, its new centre is the mean of the samples' updates (the authors'
// in-place assignment keeps one of them, in an order the GPU does not fix).
// Defaults: ArcFace with s = 64, m = 0.5 (CosFace: m = 0.35). Student and teacher must share the embedding size.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { cosineLogits, createMargin, type CombinedMargin, type MarginName } from "../models/heads/index.js";
import { rank, sameShape } from "./check.js";
import { labels, output, teacherEmbedding, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

/** The distilled class centres: buffer `weight` [classes, D]. */
export class AdaptiveCentres extends torch.nn.Module<[], never> {
  readonly weight: Tensor;

  constructor(
    readonly numClasses: number,
    readonly embeddingSize: number,
  ) {
    super();
    for (const [name, value] of Object.entries({ numClasses, embeddingSize })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`loss 'adadistill': ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.weight = this.registerBuffer("weight", torch.randn([numClasses, embeddingSize]).mul_(0.01));
  }

  /** Moves the centres of `classes` [N] towards unit teacher embeddings `k` [N, D] given unit student ones `q`. */
  update(q: Tensor, k: Tensor, classes: Tensor): void {
    torch.noGrad(() =>
      torch.tidy(() => {
        const centres = this.weight.indexSelect(0, classes).to({ dtype: k.dtype });
        const agreement = F.cosineSimilarity(q, k).clamp(-1, 1);
        const trust = F.cosineSimilarity(centres, k).clamp(1e-6, 1);
        const alpha = agreement.mul(trust).clamp(1e-6, 1).unsqueeze(1);
        const moved = centres.mul(alpha).add(k.mul(alpha.neg().add(1)));
        // the mean of the updates of the batch's samples of each class (one update when a class occurs once)
        const same = classes.unsqueeze(0).eq(classes.unsqueeze(1)).to({ dtype: k.dtype });
        const means = same.mm(moved).div(same.sum(1, true));
        torch.aten.index_put_(this.weight, [classes], means.to({ dtype: this.weight.dtype }));
      }),
    );
  }

  forward(): never {
    throw new Error("AdaptiveCentres has no forward(): the adadistill loss reads and updates it");
  }
}

/** One AdaDistill step: updates `centres` from the batch, then the margin softmax of the student on them. */
export function adaptiveDistillation(
  student: Tensor,
  teacher: Tensor,
  classes: Tensor,
  centres: AdaptiveCentres,
  margin: CombinedMargin,
): Tensor {
  const loss = "adadistill";
  rank(loss, student, 2, "the student's embedding");
  sameShape(loss, student, teacher, ["the student's embedding", "the teacher's"]);
  if (student.size(1) !== centres.embeddingSize) {
    throw new RangeError(
      `loss '${loss}': ${student.size(1)}-d embeddings for ${centres.embeddingSize}-d centres ` +
        `(set embeddingSize to ${student.size(1)})`,
    );
  }
  return torch.tidy(() => {
    const q = F.normalize(student);
    const k = F.normalize(teacher.detach());
    centres.update(q.detach(), k, classes);
    const cosines = cosineLogits(q, centres.weight.to({ dtype: q.dtype }));
    return F.crossEntropy(margin.apply(cosines, classes), classes);
  });
}

export interface AdaDistillOptions {
  margin?: MarginName;
  s?: number;
  m?: number;
}

/** AdaDistill with `centres` on the student's embedding, the teacher's (live or precomputed) and the labels. */
export function adadistillLoss(
  centres: AdaptiveCentres,
  { margin = "arcface", s = 64, m = margin === "cosface" ? 0.35 : 0.5 }: AdaDistillOptions = {},
): Loss {
  const head = createMargin(margin, { s, m });
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "embedding", "adadistill");
      return adaptiveDistillation(
        student,
        teacherEmbedding(ctx, "adadistill", student),
        labels(ctx, "adadistill"),
        centres,
        head,
      );
    });
}

defineLoss({
  name: "adadistill",
  summary: "AdaDistill: the student's margin softmax on class centres distilled from the teacher's embeddings",
  kind: "embedding",
  reads: ["embedding", "labels", "precomputed"],
  options: z.object({
    numClasses: z.number({ error: "must be a positive integer" }).int().positive().describe("identities"),
    embeddingSize: z.number().int().positive().default(512).describe("the embedding's size"),
    margin: z.enum(["arcface", "cosface"]).optional().describe("the margin softmax (arcface)"),
    s: z.number().positive().optional().describe("scale (64)"),
    m: z.number().nonnegative().optional().describe("margin (0.5 arcface, 0.35 cosface)"),
  }),
  create: ({ numClasses, embeddingSize, ...o }, adopt) =>
    adadistillLoss(adopt(new AdaptiveCentres(numClasses, embeddingSize)), o),
});
