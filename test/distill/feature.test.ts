import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  HintRegressor,
  attentionLoss,
  attentionTransfer,
  fitnetLoss,
  hintDistance,
  localStructure,
  lspLoss,
} from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { f64, kl, mean, softmax, squaredDistance, unit, valueOf, type Matrix, type Vector } from "./reference.js";

// one sample's maps, channel by channel: student 2 x 2 x 2, teacher 1 x 2 x 2
const S: Matrix[] = [
  [
    [1, -2],
    [0.5, 3],
  ],
  [
    [0, 1],
    [-1, 2],
  ],
];
const T: Matrix[] = [
  [
    [2, -1],
    [1, 4],
  ],
];
const [W0, W1, BIAS] = [0.5, -1.5, 0.25];
const regressedByHand: Vector = S[0]!.flat().map((x, i) => W0 * x + W1 * S[1]!.flat()[i]! + BIAS);

function regressor(): HintRegressor {
  const r = new HintRegressor(2, 1).to({ dtype: "float64" });
  torch.noGrad(() => {
    r.conv.weight.copy_(f64([[[[W0]], [[W1]]]]));
    r.conv.bias!.copy_(f64([BIAS]));
  });
  return r;
}

describe("FitNet hints", () => {
  test("a 1x1 regressor, then MSE over every element", () => {
    const r = regressor();
    const got = valueOf(() =>
      fitnetLoss(r, { student: "stage2" })({
        student: { features: { stage2: f64([S]) } },
        teacher: { features: { stage2: f64([T]) } },
      }),
    );
    assert.ok(Math.abs(got - mean(regressedByHand.map((x, i) => (x - T[0]!.flat()[i]!) ** 2))) < 1e-12);
    assert.equal(r.parameters().length, 2);
    r.dispose();
  });

  test("a smaller teacher map: the regressed map is resized bilinearly (2x2 -> 1x1 is the mean)", () => {
    const r = regressor();
    const got = valueOf(() =>
      fitnetLoss(r, { student: "s", teacher: "t" })({
        student: { features: { s: f64([S]) } },
        teacher: { features: { t: f64([[[[1.5]]]]) } },
      }),
    );
    assert.ok(Math.abs(got - (mean(regressedByHand) - 1.5) ** 2) < 1e-12);
    r.dispose();
  });

  test("gradients match finite differences (student and teacher maps)", () => {
    const r = regressor();
    gradcheck(([s, t]) => hintDistance(r.forward(s!), t!), [input([2, 2, 3, 3], 1), input([2, 1, 3, 3], 2)]);
    gradcheck(([s, t]) => hintDistance(r.forward(s!), t!), [input([1, 2, 4, 4], 8), input([1, 1, 3, 3], 9)]);
    r.dispose();
  });

  test("errors: channel counts, batch sizes, unknown taps", () => {
    const r = regressor();
    torch.tidy(() => {
      assert.throws(
        () => r.forward(torch.zeros([1, 3, 2, 2], { dtype: "float64" })),
        /expected the student's map \[N, 2, H, W\], got \[1, 3, 2, 2\]/,
      );
      assert.throws(
        () => hintDistance(r.forward(f64([S])), f64([[[[1]], [[2]]]])),
        /gives 1 channels but the teacher's map has 2/,
      );
      assert.throws(() => hintDistance(r.forward(f64([S, S])), f64([T])), /batch of 2 student maps and 1 teacher maps/);
      assert.throws(
        () =>
          fitnetLoss(r, { student: "stage9" })({
            student: { features: { stage1: f64([S]) } },
            teacher: { features: {} },
          }),
        /the student has no feature tap 'stage9' \(it has stage1\)/,
      );
    });
    assert.throws(() => new HintRegressor(0, 4), /studentChannels must be a positive integer/);
    r.dispose();
  });
});

describe("attention transfer", () => {
  // mean over channels of |A|^p per position, then L2-normalized
  const attention = (maps: Matrix[], p: number): Vector =>
    unit(maps[0]!.flat().map((_, i) => mean(maps.map((c) => Math.abs(c.flat()[i]!) ** p))));
  const twoChannelTeacher: Matrix[] = [
    T[0]!,
    [
      [0.5, 0.5],
      [-3, 1],
    ],
  ];

  test("normalized spatial maps of mean_c |A_c|^p; squared difference averaged over positions and batch", () => {
    for (const p of [2, 1]) {
      const got = valueOf(() => attentionTransfer(f64([S]), f64([twoChannelTeacher]), p));
      const want = mean(attention(S, p).map((x, i) => (x - attention(twoChannelTeacher, p)[i]!) ** 2));
      assert.ok(Math.abs(got - want) < 1e-12, `p=${p}: ${got} vs ${want}`);
    }
  });

  test("a larger student map is resized to the teacher's (4x4 -> 2x2 averages 2x2 blocks)", () => {
    const big: Matrix = [
      [1, 2, 0, -1],
      [3, 0.5, 2, 2],
      [-1, 0, 1, 1],
      [0, 2, -2, 0.5],
    ];
    const squares = big.map((row) => row.map((x) => x * x));
    const pooled = [0, 1].flatMap((r) =>
      [0, 1].map((c) =>
        mean([
          squares[2 * r]![2 * c]!,
          squares[2 * r]![2 * c + 1]!,
          squares[2 * r + 1]![2 * c]!,
          squares[2 * r + 1]![2 * c + 1]!,
        ]),
      ),
    );
    const target = attention(T, 2);
    const want = mean(unit(pooled).map((x, i) => (x - target[i]!) ** 2));
    const got = valueOf(() =>
      attentionLoss({ student: "a", teacher: "b" })({
        student: { features: { a: f64([[big]]) } },
        teacher: { features: { b: f64([T]) } },
      }),
    );
    assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  });

  test("gradients match finite differences", () => {
    gradcheck(([s, t]) => attentionTransfer(s!, t!), [input([2, 3, 3, 3], 4), input([2, 2, 3, 3], 5)]);
    gradcheck(([s, t]) => attentionTransfer(s!, t!, 1), [input([1, 2, 4, 4], 10), input([1, 3, 2, 2], 11)]);
  });
});

describe("local structure preservation", () => {
  const ZS: Matrix = [
    [0, 0],
    [1, 0.2],
    [0.1, 2],
    [3, 1],
    [1.5, 1.4],
  ];
  const ZT: Matrix = [
    [0, 0.1],
    [0.8, 0],
    [0.3, 1.5],
    [2.5, 1.2],
    [1, 1],
  ];

  function byHand(k: number): number {
    return mean(
      ZT.map((t, i) => {
        const neighbours = ZT.map((u, j) => ({ j, d: squaredDistance(t, u) }))
          .filter(({ j }) => j !== i)
          .sort((a, b) => a.d - b.d)
          .slice(0, k)
          .map(({ j }) => j);
        const pt = softmax(neighbours.map((j) => -squaredDistance(t, ZT[j]!)));
        const ps = softmax(neighbours.map((j) => -squaredDistance(ZS[i]!, ZS[j]!)));
        return kl(pt, ps);
      }),
    );
  }

  test("KL between the teacher's and the student's similarity distributions over the teacher's k neighbours", () => {
    for (const k of [2, 4]) {
      const got = valueOf(() => localStructure(f64(ZS), f64(ZT), { k, normalize: false }));
      assert.ok(Math.abs(got - byHand(k)) < 1e-12, `k=${k}: ${got} vs ${byHand(k)}`);
    }
    assert.ok(byHand(2) > 0.01, "the example is not trivially zero");
  });

  test("through the context, on a tap's flattened maps", () => {
    const got = valueOf(() =>
      lspLoss({ tap: "x", k: 2, normalize: false })({
        student: { features: { x: f64(ZS).reshape([5, 2, 1, 1]) } },
        teacher: { features: { x: f64(ZT).reshape([5, 1, 2, 1]) } },
      }),
    );
    assert.ok(Math.abs(got - byHand(2)) < 1e-12);
  });

  test("gradients match finite differences", () => {
    gradcheck(([s, t]) => localStructure(s!, t!, { k: 3 }), [input([6, 4], 6), input([6, 5], 7)]);
  });

  test("k must leave a neighbour out", () => {
    torch.tidy(() =>
      assert.throws(
        () => localStructure(f64(ZS), f64(ZT), { k: 5 }),
        /k must be an integer from 1 to the batch size minus one \(4\), got 5/,
      ),
    );
  });
});
