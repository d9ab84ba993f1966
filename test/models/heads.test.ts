import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { heads } from "../../src/models/index.js";

const { ArcFace, CosFace, NormFace, CombinedMargin, PartialFC, createMargin, cosineLogits } = heads;

const COSINE = [
  [0.5, 0.2, -0.1, 0.3],
  [-0.95, 0.3, 0.0, 0.1], // theta = 2.82 rad: theta + 0.5 > pi
  [0.1, 0.99, -0.3, 0.2],
];
const LABELS = [0, 0, 1];
const labels = (values: number[]): torch.Tensor => torch.tensor(values, { dtype: "int64" });

/** The expected logits: every cosine times s, the target's replaced by `target(cos)` first. */
function byHand(s: number, target: (c: number) => number): number[] {
  return COSINE.flatMap((row, i) => row.map((c, j) => s * (j === LABELS[i] ? target(c) : c)));
}

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) <= tolerance, `${what}[${i}]: ${a} vs ${expected[i]}`));
}

function logitsOf(margin: heads.CombinedMargin): number[] {
  return torch.tidy(() => margin.apply(torch.tensor(COSINE), labels(LABELS)).toNumbers());
}

describe("margins", () => {
  test("ArcFace: cos(theta + m), and arcface_torch's cos(theta) - m sin(m) once theta + m > pi", () => {
    const m = 0.5;
    const expected = byHand(64, (c) => (Math.acos(c) + m < Math.PI ? Math.cos(Math.acos(c) + m) : c - m * Math.sin(m)));
    assert.ok(Math.abs(expected[4]! - 64 * (-0.95 - 0.5 * Math.sin(0.5))) < 1e-9); // the second row takes the branch
    assertClose(logitsOf(new ArcFace()), expected, 2e-4, "arcface");
  });

  test("CosFace: cos(theta) - m; NormFace: the scaled cosines", () => {
    assertClose(
      logitsOf(new CosFace()),
      byHand(64, (c) => c - 0.4),
      2e-4,
      "cosface",
    );
    assertClose(
      logitsOf(new NormFace({ s: 30 })),
      byHand(30, (c) => c),
      1e-4,
      "normface",
    );
  });

  test("CombinedMargin (m1, m2, m3) = (1.5, 0.1, 0.05)", () => {
    const [m1, m2, m3] = [1.5, 0.1, 0.05];
    const expected = byHand(64, (c) => {
      const theta = Math.acos(c);
      return m1 * theta + m2 < Math.PI ? Math.cos(m1 * theta + m2) - m3 : c - m3 - m2 * Math.sin(m2);
    });
    assertClose(logitsOf(new CombinedMargin({ m1, m2, m3 })), expected, 3e-4, "combined");
    assertClose(logitsOf(createMargin("combined", { m1: 1, m2: 0.5 })), logitsOf(new ArcFace()), 1e-5, "as arcface");
    assertClose(
      logitsOf(createMargin("cosface", { m: 0.35, s: 32 })),
      byHand(32, (c) => c - 0.35),
      1e-4,
      "named",
    );
  });

  test("gradients stay finite at cos = 1 and cos = -1", () => {
    for (const margin of [new ArcFace(), new CombinedMargin({ m1: 2 })]) {
      torch.tidy(() => {
        const cosine = torch
          .tensor([
            [1, 0],
            [-1, 0.5],
          ])
          .requiresGrad_();
        margin
          .apply(cosine, labels([0, 0]))
          .sum()
          .backward();
        assert.ok(cosine.grad!.isfinite().all().item(), `${margin.constructor.name}: ${cosine.grad!.toNumbers()}`);
      });
    }
  });

  test("bad margins are refused", () => {
    assert.throws(() => new ArcFace({ m: Math.PI }), /0 <= m2 < pi/);
    assert.throws(() => new CosFace({ s: 0 }), /s > 0/);
  });
});

/** Mean ArcFace cross entropy computed element by element in double precision. */
function arcFaceLossByHand(embeddings: number[][], centres: number[][], targets: number[]): number {
  const unit = (v: number[]): number[] => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const [e, w] = [embeddings.map(unit), centres.map(unit)];
  let total = 0;
  e.forEach((row, i) => {
    const logits = w.map((c, j) => {
      const cos = Math.min(
        1,
        Math.max(
          -1,
          row.reduce((acc, x, k) => acc + x * c[k]!, 0),
        ),
      );
      const t =
        j !== targets[i]
          ? cos
          : Math.acos(cos) + 0.5 < Math.PI
            ? Math.cos(Math.acos(cos) + 0.5)
            : cos - 0.5 * Math.sin(0.5);
      return 64 * t;
    });
    const max = Math.max(...logits);
    const logSum = max + Math.log(logits.reduce((acc, z) => acc + Math.exp(z - max), 0));
    total += logSum - logits[targets[i]!]!;
  });
  return total / e.length;
}

const rows = (t: torch.Tensor): number[][] => {
  const [n, d] = t.shape as [number, number];
  const flat = t.toNumbers();
  return Array.from({ length: n }, (_, i) => flat.slice(i * d, (i + 1) * d));
};

describe("PartialFC", () => {
  test("sample rate 1: the full ArcFace softmax loss, in training and in eval mode", () => {
    torch.manualSeed(7);
    const head = new PartialFC({ margin: new ArcFace(), embeddingSize: 16, numClasses: 10 });
    try {
      torch.tidy(() => {
        const embeddings = torch.randn([6, 16]);
        const target = [3, 3, 0, 9, 5, 1];
        const expected = arcFaceLossByHand(rows(embeddings), rows(head.weight), target);
        const train = head.train().forward(embeddings, labels(target)).item();
        const evaluated = head.eval().forward(embeddings, labels(target)).item();
        assert.ok(Math.abs(train - expected) < 1e-4 * Math.abs(expected), `${train} vs ${expected}`);
        assert.equal(evaluated, train);
      });
      assert.deepEqual([...head.stateDict().keys()], ["weight"]);
      assert.deepEqual(head.weight.shape, [10, 16]);
    } finally {
      head.dispose();
    }
  });

  test("sampling keeps the batch's classes, remaps the labels and equals the full head on those columns", () => {
    torch.manualSeed(11);
    const head = new PartialFC({ margin: new ArcFace(), embeddingSize: 8, numClasses: 1000, sampleRate: 0.1 });
    const target = [3, 3, 999, 0, 512, 77, 3, 640];
    try {
      head.train();
      torch.tidy(() => {
        const embeddings = torch.randn([8, 8]);
        const { logits, targets, classes } = head.logits(embeddings, labels(target));
        const picked = classes.toNumbers();
        assert.equal(picked.length, 100);
        assert.ok(
          picked.every((c, i) => i === 0 || c > picked[i - 1]!),
          "ascending, no repeats",
        );
        for (const label of target) assert.ok(picked.includes(label), `class ${label} kept`);
        assert.deepEqual(
          targets.toNumbers().map((t) => picked[t]),
          target,
        );
        assert.deepEqual(logits.shape, [8, 100]);
        // the same logits as the full head's, restricted to the sampled columns
        const full = new ArcFace().apply(cosineLogits(embeddings, head.weight), labels(target));
        assertClose(logits.toNumbers(), full.indexSelect(1, classes).toNumbers(), 1e-4, "sampled logits");
        // only the sampled centres receive gradient
        torch.nn.functional.crossEntropy(logits, targets).backward();
        const touched = head.weight.grad!.abs().sum(1).gt(0).toNumbers();
        assert.deepEqual(
          touched.flatMap((t, c) => (t ? [c] : [])),
          picked,
        );
      });
    } finally {
      head.dispose();
    }
  });

  test("more distinct labels than numSample: all of them, and nothing else", () => {
    const head = new PartialFC({ margin: new CosFace(), embeddingSize: 4, numClasses: 100, sampleRate: 0.02 });
    try {
      assert.equal(head.numSample, 2);
      torch.tidy(() => {
        const classes = head.sampleClasses(labels([42, 7, 7, 99, 0, 13]));
        assert.deepEqual(classes.toNumbers(), [0, 7, 13, 42, 99]);
      });
    } finally {
      head.dispose();
    }
  });

  test("labels are checked", () => {
    const head = new PartialFC({ margin: new ArcFace(), embeddingSize: 4, numClasses: 5 });
    try {
      torch.tidy(() => {
        const e = torch.randn([2, 4]);
        assert.throws(() => head.forward(e, labels([0, 5])), /labels must lie in \[0, 5\), got values from 0 to 5/);
        assert.throws(() => head.forward(e, torch.tensor([0, 1])), /labels must be int64 \[2\]/);
        assert.throws(() => head.forward(torch.randn([2, 3]), labels([0, 1])), /embeddings must be \[N, 4\]/);
      });
    } finally {
      head.dispose();
    }
  });
});
