import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  EmbeddingStore,
  REFO_WEIGHTS,
  featureOnlyLoss,
  featureOnlySpecs,
  reverseDistillationSpecs,
  reverseLoss,
  type LossContext,
} from "../../src/distill/index.js";
import { gradcheck, input, values } from "../helpers/gradcheck.js";
import { f64, int64, mean, squaredDistance, unit, valueOf, type Matrix } from "./reference.js";

// 6 samples' precomputed embeddings (D = 3), different for each role, and a shuffled batch of 4 of them
const rowsOf = (seed: number): Matrix => Array.from({ length: 6 }, (_, i) => values(3, seed + i));
const TEACHER_ROWS = rowsOf(10);
const STUDENT_ROWS = rowsOf(20);
const INDICES = [4, 0, 5, 2];
const LIVE: Matrix = [
  [0.3, -0.1, 0.9],
  [1.2, 0.4, -0.5],
  [-0.7, 0.2, 0.1],
  [0.05, 0.6, 0.6],
];

const expected = (rows: Matrix, normalized: boolean): number =>
  mean(
    LIVE.map((f, i) =>
      normalized ? squaredDistance(unit(f), unit(rows[INDICES[i]!]!)) : squaredDistance(f, rows[INDICES[i]!]!),
    ),
  );

function withStores<T>(fn: (precomputed: LossContext["precomputed"]) => T): T {
  return torch.tidy(() => {
    const teacher = new EmbeddingStore(f64(TEACHER_ROWS));
    const student = new EmbeddingStore(f64(STUDENT_ROWS));
    try {
      return fn({ teacher, student });
    } finally {
      teacher.dispose();
      student.dispose();
    }
  });
}

describe("precomputed embeddings", () => {
  test("the store gathers the rows at shuffled sample indices", () => {
    const rows = withStores((p) => torch.tidy(() => p!.teacher!.gather(int64(INDICES)).toNumbers()));
    assert.deepEqual(
      rows,
      INDICES.flatMap((i) => TEACHER_ROWS[i]!),
    );
  });

  test("the store rejects out-of-range and non-integer indices, and non-2-d tables", () => {
    withStores((p) => {
      assert.throws(() => p!.teacher!.gather(int64([0, 6])), /run from 0 to 6 but the store holds 6 rows/);
      assert.throws(() => p!.teacher!.gather(torch.tensor([1, 2])), /must be int64 \[B\], got float32/);
    });
    assert.throws(
      () => new EmbeddingStore(torch.tidy(() => torch.zeros([6]))),
      /expected floating-point embeddings \[N, D\]/,
    );
  });
});

describe("ReFO losses", () => {
  test("feature-only: L_emb(f_s, f_t) against the teacher's precomputed rows of the batch", () => {
    for (const metric of ["normalized-l2", "l2"] as const) {
      const got = withStores((precomputed) =>
        valueOf(() =>
          featureOnlyLoss({ metric })({ student: { embedding: f64(LIVE) }, indices: int64(INDICES), precomputed }),
        ),
      );
      const want = expected(TEACHER_ROWS, metric === "normalized-l2");
      assert.ok(Math.abs(got - want) < 1e-9, `${metric}: ${got} vs ${want}`);
    }
  });

  test("reverse: L_emb(f_t, f_s') against the student's precomputed rows, not the teacher's", () => {
    const got = withStores((precomputed) =>
      valueOf(() => reverseLoss()({ teacher: { embedding: f64(LIVE) }, indices: int64(INDICES), precomputed })),
    );
    assert.ok(Math.abs(got - expected(STUDENT_ROWS, true)) < 1e-9);
    assert.ok(Math.abs(got - expected(TEACHER_ROWS, true)) > 1e-3);
  });

  test("a float32 store serves float64 embeddings", () => {
    const got = torch.tidy(() => {
      const store = new EmbeddingStore(torch.tensor(TEACHER_ROWS));
      const ctx = { student: { embedding: f64(LIVE) }, indices: int64(INDICES), precomputed: { teacher: store } };
      const value = featureOnlyLoss({ metric: "l2" })(ctx);
      store.dispose();
      return value.item();
    });
    assert.ok(Math.abs(got - expected(TEACHER_ROWS, false)) < 1e-5);
  });

  test("gradients reach the live embedding (finite differences)", () => {
    withStores((precomputed) =>
      gradcheck(
        ([f]) => featureOnlyLoss()({ student: { embedding: f! }, indices: int64(INDICES), precomputed }),
        [input([4, 3], 3)],
      ),
    );
  });

  test("errors: embedding sizes, batch and index count, missing indices or store", () => {
    withStores((precomputed) => {
      const indices = int64(INDICES);
      assert.throws(
        () =>
          reverseLoss()({ teacher: { embedding: torch.zeros([4, 5], { dtype: "float64" }) }, indices, precomputed }),
        /teacher's embedding has 5 dimensions but the precomputed student embeddings have 3: build the teacher with embeddingSize 3/,
      );
      assert.throws(
        () => featureOnlyLoss()({ student: { embedding: f64(LIVE.slice(0, 3)) }, indices, precomputed }),
        /4 sample indices for a batch of 3 student embeddings/,
      );
      assert.throws(
        () => featureOnlyLoss()({ student: { embedding: f64(LIVE) }, precomputed }),
        /loss 'fo' needs the batch's sample indices.*set context.indices/,
      );
      assert.throws(
        () => featureOnlyLoss()({ student: { embedding: f64(LIVE) }, indices }),
        /loss 'fo' needs precomputed teacher embeddings: set context.precomputed.teacher/,
      );
    });
  });

  test("presets carry the paper's weights", () => {
    const [cls, reverse] = reverseDistillationSpecs({ numClasses: 10 });
    assert.deepEqual(cls, {
      name: "arcface",
      options: { model: "teacher", numClasses: 10, embeddingSize: 512, sampleRate: 1 },
    });
    assert.deepEqual(reverse, { name: "reverse", weight: 0.5, options: { metric: "normalized-l2" } });
    assert.deepEqual(reverseDistillationSpecs({ numClasses: 10, normalized: false })[1], {
      name: "reverse",
      weight: REFO_WEIGHTS.reverseRaw,
      options: { metric: "l2" },
    });
    assert.deepEqual(featureOnlySpecs(), [{ name: "fo", weight: 5, options: { metric: "normalized-l2" } }]);
  });
});
