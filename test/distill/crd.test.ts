import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { ContrastMemory, combineLosses, contrastScores, crdLoss, nceLoss } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, FS, FT, int64, sum, unit, valueOf, type Matrix } from "./reference.js";

// a dataset of 4 samples, contrastive space of 3 dimensions; the batch is samples 2 and 0, 2 negatives each
const BANK_S: Matrix = [
  [1, 0, 0],
  [0, 1, 0],
  [0.6, 0.8, 0],
  [0, 0, 1],
];
const BANK_T: Matrix = [
  [0, 0.6, 0.8],
  [1, 0, 0],
  [0.8, 0, 0.6],
  [0, 1, 0],
];
const INDICES = [2, 0];
const NEGATIVES = [
  [1, 3],
  [3, 3],
];
const N = 4;

const scores = (anchors: Matrix, bank: Matrix, tau: number): number[][] =>
  anchors.map((a, i) => [INDICES[i]!, ...NEGATIVES[i]!].map((r) => Math.exp(dot(unit(a), bank[r]!) / tau)));

function nce(h: number[][], n: number): number {
  const noise = (h[0]!.length - 1) / n;
  const terms = h.map(
    ([p, ...neg]) => Math.log(p! / (p! + noise + 1e-7)) + sum(neg.map((x) => Math.log(noise / (x + noise + 1e-7)))),
  );
  return -sum(terms) / h.length;
}

const mean2 = (m: number[][]): number => sum(m.flat()) / m.flat().length;

/** A float64 memory with identity heads (3 -> 3) and the banks above. */
function memory(): ContrastMemory {
  const m = new ContrastMemory({ datasetSize: N, studentSize: 3, featureSize: 3, negatives: 2, temperature: 0.5 });
  m.to({ dtype: "float64" });
  torch.noGrad(() =>
    torch.tidy(() => {
      for (const head of [m.studentHead, m.teacherHead]) {
        head.weight.copy_(torch.eye(3, { dtype: "float64" }));
        head.bias!.zero_();
      }
      m.studentBank.copy_(f64(BANK_S));
      m.teacherBank.copy_(f64(BANK_T));
    }),
  );
  return m;
}

describe("CRD", () => {
  test("scores exp(m · v / tau) over the positive and the negatives, and the NCE loss, by hand", () => {
    const h = scores(FS, BANK_T, 0.5);
    const got = torch.tidy(() =>
      contrastScores(
        f64(FS),
        f64(BANK_T),
        torch.cat([int64(INDICES).unsqueeze(1), torch.tensor(NEGATIVES, { dtype: "int64" })], 1),
        0.5,
      ).toNumbers(),
    );
    got.forEach((x, i) => assert.ok(Math.abs(x - h.flat()[i]!) < 1e-12));
    const z = 3.7;
    const normalized = h.map((row) => row.map((x) => x / z));
    assert.ok(Math.abs(valueOf(() => nceLoss(f64(normalized), N)) - nce(normalized, N)) < 1e-12);
  });

  test("Z is fixed at the first step, both directions add up, and the banks move towards the batch", () => {
    const m = memory();
    const run = (fs: Matrix, ft: Matrix) =>
      valueOf(() => m.forward(f64(fs), f64(ft), int64(INDICES), torch.tensor(NEGATIVES, { dtype: "int64" })));
    const [hs, ht] = [scores(FS, BANK_T, 0.5), scores(FT, BANK_S, 0.5)];
    const [zs, zt] = [mean2(hs) * N, mean2(ht) * N];
    const norm = (h: number[][], z: number) => h.map((row) => row.map((x) => x / z));
    const first = run(FS, FT);
    assert.ok(Math.abs(first - (nce(norm(hs, zs), N) + nce(norm(ht, zt), N))) < 1e-10);
    m.normalizers.toNumbers().forEach((z, i) => assert.ok(Math.abs(z - [zs, zt][i]!) < 1e-10));

    // rows 2 and 0: normalize(0.5 * old + 0.5 * unit(v))
    const moved = (bank: Matrix, v: Matrix) =>
      bank.map((row, r) => {
        const i = INDICES.indexOf(r);
        return i < 0 ? row : unit(row.map((x, d) => 0.5 * x + 0.5 * unit(v[i]!)[d]!));
      });
    const [bankS, bankT] = [moved(BANK_S, FS), moved(BANK_T, FT)];
    torch.tidy(() => {
      assert.ok(m.studentBank.sub(f64(bankS)).abs().max().item() < 1e-12);
      assert.ok(m.teacherBank.sub(f64(bankT)).abs().max().item() < 1e-12);
    });
    // the second step scores against the moved banks, with the first step's Z
    const second = run(FT, FS);
    const want = nce(norm(scores(FT, bankT, 0.5), zs), N) + nce(norm(scores(FS, bankS, 0.5), zt), N);
    assert.ok(Math.abs(second - want) < 1e-10);
    m.dispose();
  });

  test("heads and banks belong to the objective's module; indices outside the banks are an error", () => {
    const loss = combineLosses([{ name: "crd", weight: 0.8, options: { datasetSize: 4, studentSize: 3 } }]);
    assert.deepEqual([...loss.module.stateDict().keys()].sort(), [
      "crd.normalizers",
      "crd.studentBank",
      "crd.studentHead.bias",
      "crd.studentHead.weight",
      "crd.teacherBank",
      "crd.teacherHead.bias",
      "crd.teacherHead.weight",
    ]);
    assert.deepEqual(loss.module.stateDict().get("crd.studentBank")!.shape, [4, 128]);
    assert.equal(loss.module.parameters().length, 4);
    torch.tidy(() => {
      const ctx = { student: { embedding: torch.randn([2, 3]) }, teacher: { embedding: torch.randn([2, 3]) } };
      assert.ok(Number.isFinite(loss({ ...ctx, indices: int64([3, 1]) }).total.item()));
      assert.throws(
        () => loss({ ...ctx, indices: int64([4, 1]) }),
        /sample indices run from 1 to 4 but the memory banks hold datasetSize = 4 rows/,
      );
      assert.throws(() => loss(ctx), /loss 'crd' needs the batch's sample indices/);
    });
    loss.module.dispose();
    assert.throws(() => crdLoss(new ContrastMemory({})), /set datasetSize to the number of samples/);
  });

  test("gradients match finite differences", () => {
    const contrast = () => torch.cat([int64(INDICES).unsqueeze(1), torch.tensor(NEGATIVES, { dtype: "int64" })], 1);
    gradcheck(
      ([vs, vt]) =>
        nceLoss(contrastScores(vs!, f64(BANK_T), contrast(), 0.5).div(2), N).add(
          nceLoss(contrastScores(vt!, f64(BANK_S), contrast(), 0.5).div(3), N),
        ),
      [input([2, 3], 1), input([2, 3], 2)],
    );
  });
});
