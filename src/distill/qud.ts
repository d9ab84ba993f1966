// QUD (Kolf, Damer & Boutros, "QUD: Unsupervised Knowledge Distillation for Deep Face Recognition", BMVC 2024): a
// contrastive loss between the student's and the teacher's embeddings of the same image, with the teacher's
// embeddings of earlier batches, kept in a first-in-first-out queue, as the negatives. No labels and no classifier:
// like ReFO's feature-only step it distills on any face images.
//   L = -log( exp(q·k / tau) / (exp(q·k / tau) + sum_{n in queue} exp(q·n / tau)) ),  averaged over the batch,
// q = f_s / ||f_s||, k = f_t / ||f_t||. After each step the batch's k enter the queue in place of its oldest rows.
// Defaults are the authors' code's: queue of K = 1024, tau = 0.07; the queue starts as random unit vectors.
// The queue is a buffer of a module adopted by the objective, so it is saved with the run's checkpoints.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import { positive, rank, sameShape } from "./check.js";
import { output, teacherEmbedding, type Loss } from "./context.js";
import { defineLoss } from "./registry.js";

const F = torch.nn.functional;

/** The contrastive loss of student embeddings [N, D] against teacher embeddings [N, D] and negatives [K, D]. */
export function queueContrast(student: Tensor, teacher: Tensor, negatives: Tensor, temperature = 0.07): Tensor {
  const loss = "qud";
  const tau = positive(loss, "temperature", temperature);
  rank(loss, student, 2, "the student's embedding");
  sameShape(loss, student, teacher, ["the student's embedding", "the teacher's"]);
  if (negatives.ndim !== 2 || negatives.size(1) !== student.size(1)) {
    throw new RangeError(
      `loss '${loss}': the queue [${negatives.shape.join(", ")}] holds other than ${student.size(1)}-d embeddings ` +
        `(set embeddingSize to ${student.size(1)})`,
    );
  }
  return torch.tidy(() => {
    const q = F.normalize(student);
    const k = F.normalize(teacher);
    const logits = torch.cat([q.mul(k).sum(1, true), q.mm(F.normalize(negatives).t())], 1).div(tau);
    return F.crossEntropy(logits, torch.zeros([q.size(0)], { dtype: "int64", device: q.device }));
  });
}

/** QUD's queue of teacher embeddings: `queue` [K, D] (unit rows) and `position` (the next row to replace). */
export class EmbeddingQueue extends torch.nn.Module<[], never> {
  readonly queue: Tensor;
  readonly position: Tensor;

  constructor(
    readonly size: number,
    readonly embeddingSize: number,
  ) {
    super();
    for (const [name, value] of Object.entries({ queueSize: size, embeddingSize })) {
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`loss 'qud': ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.queue = this.registerBuffer(
      "queue",
      torch.tidy(() => F.normalize(torch.randn([size, embeddingSize]))),
    );
    this.position = this.registerBuffer("position", torch.zeros([1], { dtype: "int64" }));
  }

  /** Replaces the oldest rows by `keys` [B, D] (L2-normalized, without gradient). */
  push(keys: Tensor): void {
    const b = keys.size(0);
    if (b > this.size) {
      throw new RangeError(
        `loss 'qud': a batch of ${b} does not fit a queue of ${this.size}: set queueSize to at least the batch size`,
      );
    }
    torch.noGrad(() =>
      torch.tidy(() => {
        const start = this.position.item();
        const rows = torch.arange(start, start + b, 1, { device: this.queue.device }).remainder(this.size);
        torch.aten.index_put_(this.queue, [rows], F.normalize(keys.detach()).to({ dtype: this.queue.dtype }));
        this.position.fill_((start + b) % this.size);
      }),
    );
  }

  forward(): never {
    throw new Error("EmbeddingQueue has no forward(): the qud loss reads and updates it");
  }
}

export interface QudOptions {
  /** Negatives in the queue, K (1024). */
  queueSize?: number;
  /** tau (0.07). */
  temperature?: number;
}

/** QUD with `queue`: the student's embedding against the teacher's (live, or precomputed at context.indices). */
export function qudLoss(queue: EmbeddingQueue, { temperature = 0.07 }: Pick<QudOptions, "temperature"> = {}): Loss {
  positive("qud", "temperature", temperature);
  return (ctx) =>
    torch.tidy(() => {
      const student = output(ctx, "student", "embedding", "qud");
      const teacher = teacherEmbedding(ctx, "qud", student).detach();
      // the negatives as they were before this batch enters (a copy: push() writes the buffer in place)
      const value = queueContrast(student, teacher, queue.queue.clone(), temperature);
      queue.push(teacher);
      return value;
    });
}

defineLoss({
  name: "qud",
  summary: "QUD: contrastive loss of f_s against f_t with a queue of earlier teacher embeddings (K 1024, tau 0.07)",
  kind: "embedding",
  reads: ["embedding", "precomputed"],
  options: z.object({
    queueSize: z.number().int().positive().default(1024).describe("queued teacher embeddings K"),
    temperature: z.number().positive().optional().describe("softmax temperature tau (0.07)"),
    embeddingSize: z.number().int().positive().default(512).describe("the embedding's size"),
  }),
  create: ({ queueSize, embeddingSize, temperature }, adopt) =>
    qudLoss(adopt(new EmbeddingQueue(queueSize, embeddingSize)), temperature === undefined ? {} : { temperature }),
});
