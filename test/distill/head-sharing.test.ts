import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { heads } from "../../src/models/index.js";
import { shkdLoss, studentHeadLoss, teacherHeadKD, thkdLoss } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, FS, FT, int64, kl, mean, norm, softmax, valueOf, type Matrix } from "./reference.js";

const W: Matrix = [
  [1, 0, 0],
  [0, 1, 0.5],
  [-0.3, 0.2, 1],
  [0.7, -0.7, 0.1],
];
const LABELS = [0, 2];
const cosines = (f: Matrix): Matrix => f.map((x) => W.map((w) => dot(x, w) / (norm(x) * norm(w))));

describe("head sharing", () => {
  test("TH-KD: the teacher's classifier on both embeddings, KL at T times T^2", () => {
    for (const [T, s] of [
      [4, 64],
      [2, 10],
    ] as const) {
      const logits = (f: Matrix): Matrix => cosines(f).map((row) => row.map((x) => (s * x) / T));
      const [zs, zt] = [logits(FS), logits(FT)];
      const want = mean(zs.map((_, i) => kl(softmax(zt[i]!), softmax(zs[i]!)))) * T * T;
      const got = valueOf(() => teacherHeadKD(f64(FS), f64(FT), f64(W), { temperature: T, scale: s }));
      assert.ok(Math.abs(got - want) < 1e-9 * Math.max(1, want), `T=${T}, s=${s}: ${got} vs ${want}`);
    }
  });

  test("TH-KD through the context keeps the teacher's classifier frozen", () => {
    torch.tidy(() => {
      const classifier = f64(W).requiresGrad_(true);
      const student = f64(FS).requiresGrad_(true);
      const loss = thkdLoss({ scale: 10 })({
        student: { embedding: student },
        teacher: { embedding: f64(FT), classifier },
      });
      loss.backward();
      assert.equal(classifier.grad, null);
      assert.ok(student.grad!.abs().sum().item() > 0);
    });
  });

  test("SH-KD: the student's classifier with an ArcFace margin on the teacher's embedding, true labels", () => {
    const [s, m] = [8, 0.5];
    const want = mean(
      cosines(FT).map((row, i) => {
        const logits = row.map((c, j) => s * (j === LABELS[i] ? Math.cos(Math.acos(c) + m) : c));
        return -Math.log(softmax(logits)[LABELS[i]!]!);
      }),
    );
    const ctx = () => ({ teacher: { embedding: f64(FT) }, student: { classifier: f64(W) }, labels: int64(LABELS) });
    assert.ok(Math.abs(valueOf(() => shkdLoss({ s, m })(ctx())) - want) < 1e-9);
    const cosface = valueOf(() => shkdLoss({ margin: "cosface", s, m: 0.3 })(ctx()));
    const cosfaceWant = mean(
      cosines(FT).map(
        (row, i) => -Math.log(softmax(row.map((c, j) => s * (j === LABELS[i] ? c - 0.3 : c)))[LABELS[i]!]!),
      ),
    );
    assert.ok(Math.abs(cosface - cosfaceWant) < 1e-9);
  });

  test("gradients match finite differences", () => {
    gradcheck(([fs, ft]) => teacherHeadKD(fs!, ft!, f64(W), { scale: 5 }), [input([2, 3], 1), input([2, 3], 2)]);
    const margin = new heads.ArcFace({ s: 4 });
    gradcheck(([ft]) => studentHeadLoss(ft!, f64(W), int64(LABELS), margin), [input([2, 3], 3)]);
  });

  test("errors: the classifier's size, a missing classifier", () => {
    torch.tidy(() => {
      assert.throws(
        () => teacherHeadKD(torch.zeros([2, 5]), torch.zeros([2, 3]), torch.zeros([4, 3])),
        /teacher's classifier \[4, 3\] takes 3-d embeddings but the student's have 5 dimensions \(build the student with embeddingSize 3\)/,
      );
      assert.throws(
        () => shkdLoss()({ teacher: { embedding: f64(FT) }, labels: int64(LABELS) }),
        /loss 'sh-kd' needs the student's classifier weight \[classes, D\]: set context.student.classifier/,
      );
    });
  });
});
