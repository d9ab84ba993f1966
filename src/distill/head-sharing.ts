// Head sharing (Ben-Baruch et al. 2022, "It's All in the Head: Representation Knowledge Distillation through
// Classifier Sharing", arXiv:2201.06945): one model's frozen classifier on the other's
// embedding. Face classifiers are cosine classifiers (class centres compared with the L2-normalized embedding), so a
// shared head gives logits s * cos(f, w_c).
// - TH-KD: the teacher's classifier on the student's embedding; KL(softmax(z_t / T) || softmax(W_t f_s / T)) * T^2
//   with z_t the same head on the teacher's embedding (T = 4). The direction is Hinton's and that of the authors'
//   code, kl_div(log p_s, p_t) (some summaries write the two arguments the other way round).
// - SH-KD: the teacher is trained (before distilling as usual) through a pretrained student's frozen classifier: the
//   margin softmax of the student's class centres on the teacher's embedding, with the true labels.
import { z } from "zod";
import * as torch from "../torch/index.js";
import type { Tensor } from "../torch/index.js";
import {
  MARGIN_NAMES,
  cosineLogits,
  createMargin,
  type CombinedMargin,
  type MarginName,
} from "../models/heads/index.js";
import { positive, rank } from "./check.js";
import { labels, output, type Loss, type Role } from "./context.js";
import { marginParameters, temperature } from "./options.js";
import { defineLoss } from "./registry.js";
import { hintonKD } from "./response.js";

const F = torch.nn.functional;

function fits(loss: string, embedding: Tensor, owner: Role, classifier: Tensor, classifierOwner: Role): void {
  rank(loss, embedding, 2, `the ${owner}'s embedding`);
  rank(loss, classifier, 2, `the ${classifierOwner}'s classifier`);
  if (embedding.size(1) !== classifier.size(1)) {
    throw new RangeError(
      `loss '${loss}': the ${classifierOwner}'s classifier [${classifier.shape.join(", ")}] takes ` +
        `${classifier.size(1)}-d embeddings but the ${owner}'s have ${embedding.size(1)} dimensions ` +
        `(build the ${owner} with embeddingSize ${classifier.size(1)})`,
    );
  }
}

export interface TeacherHeadOptions {
  temperature?: number;
  /** The cosine classifier's scale s (64, as the margin heads). */
  scale?: number;
}

/** TH-KD from embeddings [N, D] of both models and the teacher's classifier [classes, D] (used frozen). */
export function teacherHeadKD(
  studentEmbedding: Tensor,
  teacherEmbedding: Tensor,
  teacherClassifier: Tensor,
  { temperature = 4, scale = 64 }: TeacherHeadOptions = {},
): Tensor {
  const loss = "th-kd";
  fits(loss, studentEmbedding, "student", teacherClassifier, "teacher");
  fits(loss, teacherEmbedding, "teacher", teacherClassifier, "teacher");
  const s = positive(loss, "scale", scale);
  return torch.tidy(() => {
    const head = teacherClassifier.detach();
    const studentLogits = cosineLogits(studentEmbedding, head).mul(s);
    return hintonKD(studentLogits, cosineLogits(teacherEmbedding, head).mul(s), temperature);
  });
}

/** TH-KD on the context: student and teacher embeddings, teacher classifier. */
export function thkdLoss(options: TeacherHeadOptions = {}): Loss {
  const name = "th-kd";
  positive(name, "temperature", options.temperature ?? 4);
  return (ctx) =>
    teacherHeadKD(
      output(ctx, "student", "embedding", name),
      output(ctx, "teacher", "embedding", name),
      output(ctx, "teacher", "classifier", name),
      options,
    );
}

/** SH-KD's teacher loss: margin softmax of the frozen student classifier [classes, D] on teacher embeddings [N, D]. */
export function studentHeadLoss(
  teacherEmbedding: Tensor,
  studentClassifier: Tensor,
  classes: Tensor,
  margin: CombinedMargin,
): Tensor {
  fits("sh-kd", teacherEmbedding, "teacher", studentClassifier, "student");
  return torch.tidy(() =>
    F.crossEntropy(margin.apply(cosineLogits(teacherEmbedding, studentClassifier.detach()), classes), classes),
  );
}

export interface StudentHeadOptions {
  /** The margin of the softmax (arcface). */
  margin?: MarginName;
  s?: number;
  m?: number;
  m1?: number;
  m2?: number;
  m3?: number;
}

/** SH-KD on the context: the teacher's embedding, the student's classifier and the labels. */
export function shkdLoss({ margin = "arcface", ...marginOptions }: StudentHeadOptions = {}): Loss {
  const name = "sh-kd";
  const head = createMargin(margin, marginOptions);
  return (ctx) =>
    studentHeadLoss(
      output(ctx, "teacher", "embedding", name),
      output(ctx, "student", "classifier", name),
      labels(ctx, name),
      head,
    );
}

defineLoss({
  name: "th-kd",
  summary: "TH-KD: the teacher's frozen classifier on the student's embedding, KL at temperature T (4) * T^2",
  kind: "logit",
  reads: ["embedding", "classifier"],
  options: z.object({
    temperature,
    scale: z.number().positive().default(64).describe("the cosine classifier's scale s"),
  }),
  create: (o) => thkdLoss(o),
});
defineLoss({
  name: "sh-kd",
  summary: "SH-KD: the teacher trained through the student's frozen classifier (margin softmax, true labels)",
  kind: "logit",
  reads: ["embedding", "classifier", "labels"],
  options: z.object({
    margin: z.enum(MARGIN_NAMES).default("arcface").describe("the margin of the softmax"),
    ...marginParameters,
  }),
  create: (o) => shkdLoss(o),
});
