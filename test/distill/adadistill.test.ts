import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { heads } from "../../src/models/index.js";
import { AdaptiveCentres, adaptiveDistillation, combineLosses } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, int64, mean, softmax, unit, valueOf, type Matrix } from "./reference.js";

// 3 samples, two of class 1; 3 classes of 3-d centres
const ES: Matrix = [
  [1, 0.5, -0.2],
  [0.1, -1, 2],
  [0.3, 0.2, 1],
];
const ET: Matrix = [
  [2, 0, 0.3],
  [0.4, -0.6, 1],
  [0.1, 0.5, 1],
];
const CENTRES: Matrix = [
  [0.5, 0.1, 0.1],
  [0.2, 0.1, 0.9],
  [-1, 0.3, 0],
];
const LABELS = [0, 1, 1];
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** The centres after one batch: each sample's update, averaged per class. */
function updated(centres: Matrix): Matrix {
  const moved = ES.map((s, i) => {
    const [q, k, w] = [unit(s), unit(ET[i]!), centres[LABELS[i]!]!];
    const alpha = clamp(dot(q, k) * clamp(dot(unit(w), k), 1e-6, 1), 1e-6, 1);
    return w.map((x, d) => alpha * x + (1 - alpha) * k[d]!);
  });
  return centres.map((w, c) => {
    const mine = moved.filter((_, i) => LABELS[i] === c);
    return mine.length === 0 ? w : w.map((_, d) => mean(mine.map((m) => m[d]!)));
  });
}

function arcface(s: Matrix, centres: Matrix, scale: number, m: number): number {
  return mean(
    s.map((row, i) => {
      const y = LABELS[i]!;
      const logits = centres.map((w, c) => {
        const cos = dot(unit(row), unit(w));
        return scale * (c === y ? Math.cos(Math.acos(cos) + m) : cos);
      });
      return -Math.log(softmax(logits)[y]!);
    }),
  );
}

function centresOf(values: Matrix): AdaptiveCentres {
  const module = new AdaptiveCentres(values.length, values[0]!.length).to({ dtype: "float64" });
  torch.noGrad(() => torch.tidy(() => module.weight.copy_(f64(values))));
  return module;
}

describe("AdaDistill", () => {
  test("the centres move towards the teacher by the adaptive alpha, then ArcFace on them, by hand", () => {
    const module = centresOf(CENTRES);
    const after = updated(CENTRES);
    const got = valueOf(() =>
      adaptiveDistillation(f64(ES), f64(ET), int64(LABELS), module, new heads.ArcFace({ s: 8, m: 0.5 })),
    );
    torch.tidy(() => assert.ok(module.weight.sub(f64(after)).abs().max().item() < 1e-12));
    assert.ok(Math.abs(got - arcface(ES, after, 8, 0.5)) < 1e-9, `${got}`);
    // the class absent from the batch kept its centre
    assert.deepEqual(module.weight.select(0, 2).toNumbers(), CENTRES[2]);
    module.dispose();
  });

  test("the centres are a buffer, not a parameter: the optimizer never sees them", () => {
    const loss = combineLosses([{ name: "adadistill", options: { numClasses: 3, embeddingSize: 3, s: 8 } }]);
    assert.deepEqual([...loss.module.stateDict().keys()], ["adadistill.weight"]);
    assert.equal(loss.module.parameters().length, 0);
    torch.tidy(() => {
      const student = torch.randn([3, 3]).requiresGrad_(true);
      loss({
        student: { embedding: student },
        teacher: { embedding: torch.randn([3, 3]) },
        labels: int64(LABELS),
      }).total.backward();
      assert.ok(student.grad!.abs().sum().item() > 0);
    });
    loss.module.dispose();
  });

  test("gradients match finite differences", () => {
    // centres pointing away from the teacher's embeddings: alpha is its floor 1e-6 whatever the student does, so
    // the update does not depend on the student and the loss is a smooth function of it
    const away = ET.map((k) => k.map((x) => -x));
    gradcheck(
      ([s]) => {
        const module = centresOf(away);
        const value = adaptiveDistillation(s!, f64(ET), int64([0, 1, 2]), module, new heads.ArcFace({ s: 4 }));
        module.dispose();
        return value;
      },
      [input([3, 3], 1)],
    );
  });
});
