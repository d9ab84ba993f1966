import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  EmbeddingStore,
  combineLosses,
  embeddingDistance,
  hintonKD,
  distillationLosses,
  listLosses,
  reverseDistillationSpecs,
} from "../../src/distill/index.js";
import { dot, f64, FS, FT, int64, mean, norm, softmax, valueOf, ZS, ZT, type Matrix } from "./reference.js";
import { values } from "../helpers/gradcheck.js";

describe("loss registry", () => {
  test("a combination gives the weighted sum and each term's unweighted value", () => {
    const loss = combineLosses([
      { name: "embedding", weight: 5 },
      { name: "kd", weight: 0.5, options: { temperature: 2 } },
      { name: "embedding", label: "raw", weight: 0.001, options: { metric: "l2" } },
    ]);
    const { total, terms } = torch.tidy(() => {
      const ctx = {
        student: { embedding: f64(FS), logits: f64(ZS) },
        teacher: { embedding: f64(FT), logits: f64(ZT) },
      };
      const { total, terms } = loss(ctx);
      return { total: total.item(), terms };
    });
    const expected = {
      embedding: valueOf(() => embeddingDistance(f64(FS), f64(FT))),
      kd: valueOf(() => hintonKD(f64(ZS), f64(ZT), 2)),
      raw: valueOf(() => embeddingDistance(f64(FS), f64(FT), { metric: "l2" })),
    };
    assert.deepEqual(Object.keys(terms), ["embedding", "kd", "raw"]);
    for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs(terms[k]! - v) < 1e-12, k);
    assert.ok(Math.abs(total - (5 * expected.embedding + 0.5 * expected.kd + 0.001 * expected.raw)) < 1e-12);
    assert.deepEqual(
      loss.terms.map((t) => t.weight),
      [5, 0.5, 0.001],
    );
  });

  test("the total backpropagates to the trained model", () => {
    torch.tidy(() => {
      const fs = f64(FS).requiresGrad_(true);
      const loss = combineLosses([{ name: "embedding" }, { name: "rkd-distance", weight: 25 }]);
      loss({ student: { embedding: fs }, teacher: { embedding: f64(FT) } }).total.backward();
      assert.ok(fs.grad!.abs().sum().item() > 0);
    });
  });

  test("a combination of every family frees all it made but the total", () => {
    const loss = combineLosses([
      { name: "fo", weight: 5 },
      { name: "kd" },
      { name: "fitnet", options: { student: "s", teacher: "t", studentChannels: 2, teacherChannels: 3 } },
      { name: "at", options: { student: "s", teacher: "t" } },
      { name: "lsp", options: { k: 2 } },
      { name: "rkd-angle", options: { tap: "r" } },
      { name: "sp", options: { tap: "r" } },
      { name: "th-kd" },
    ]);
    torch.tidy(() => {
      const store = new EmbeddingStore(torch.randn([10, 3]));
      const ctx = {
        student: {
          embedding: torch.randn([4, 3]),
          logits: torch.randn([4, 5]),
          features: { s: torch.randn([4, 2, 4, 4]), r: torch.randn([4, 2, 2, 2]) },
        },
        teacher: {
          embedding: torch.randn([4, 3]),
          logits: torch.randn([4, 5]),
          features: { t: torch.randn([4, 3, 2, 2]), r: torch.randn([4, 5, 1, 1]) },
          classifier: torch.randn([5, 3]),
        },
        indices: int64([9, 1, 4, 0]),
        precomputed: { teacher: store },
      };
      const before = torch.trackedCount();
      const { total, terms } = loss(ctx);
      assert.equal(torch.trackedCount(), before + 1);
      assert.equal(Object.keys(terms).length, 8);
      assert.ok(Object.values(terms).every(Number.isFinite) && Number.isFinite(total.item()));
      store.dispose();
    });
    loss.module.dispose();
  });

  test("learned parts live in the combination's module, under the terms' labels", () => {
    const loss = combineLosses([
      { name: "arcface", options: { numClasses: 7, embeddingSize: 3 } },
      { name: "fitnet", label: "hint3", options: { student: "stage3", studentChannels: 4, teacherChannels: 6 } },
      { name: "at", options: { student: "stage3" } },
    ]);
    const keys = [...loss.module.stateDict()].map(([k, t]) => `${k} [${t.shape.join(", ")}]`);
    assert.deepEqual(keys, ["arcface.weight [7, 3]", "hint3.conv.weight [6, 4, 1, 1]", "hint3.conv.bias [6]"]);
    assert.equal(loss.module.parameters().length, 3);
    loss.module.dispose();
  });

  test("a margin head term: the ArcFace cross entropy of the chosen model's embedding", () => {
    const W: Matrix = Array.from({ length: 4 }, (_, i) => values(3, 30 + i));
    const labels = [3, 1];
    const [s, m] = [16, 0.5];
    const loss = combineLosses([
      { name: "arcface", options: { model: "teacher", numClasses: 4, embeddingSize: 3, s, m } },
    ]);
    torch.noGrad(() => (loss.module.parameters()[0]!.copy_(f64(W)), undefined));
    const got = torch.tidy(
      () => loss({ teacher: { embedding: f64(FT).float() }, labels: int64(labels) }).terms.arcface!,
    );
    const want = mean(
      FT.map((f, i) => {
        const logits = W.map((w, j) => {
          const c = dot(f, w) / (norm(f) * norm(w));
          return s * (j === labels[i] ? Math.cos(Math.acos(c) + m) : c);
        });
        return -Math.log(softmax(logits)[labels[i]!]!);
      }),
    );
    assert.ok(Math.abs(got - want) < 1e-4, `${got} vs ${want}`); // the head's weights are float32
    loss.module.dispose();
  });

  test("ReFO step 3 from its preset: classification of the teacher plus 0.5 x reverse distillation", () => {
    const loss = combineLosses(reverseDistillationSpecs({ numClasses: 5, embeddingSize: 3 }));
    const store = torch.tidy(() => new EmbeddingStore(f64([FS[1]!, [9, 9, 9], FS[0]!])));
    const { total, terms } = torch.tidy(() => {
      const r = loss({
        teacher: { embedding: f64(FT).float() },
        labels: int64([0, 4]),
        indices: int64([2, 0]),
        precomputed: { student: store },
      });
      return { total: r.total.item(), terms: r.terms };
    });
    assert.ok(Math.abs(terms.reverse! - valueOf(() => embeddingDistance(f64(FT), f64(FS)))) < 1e-6);
    assert.ok(Math.abs(total - (terms.arcface! + 0.5 * terms.reverse!)) < 1e-4);
    store.dispose();
    loss.module.dispose();
  });

  test("errors: unknown names and options, repeated labels, bad weights, missing options", () => {
    assert.throws(
      () => combineLosses([{ name: "fitnes" }]),
      /unknown loss 'fitnes': use one of embedding, fo, reverse, arcface/,
    );
    assert.throws(
      () => combineLosses([{ name: "kd", options: { temprature: 2 } }]),
      /loss 'kd': unknown option 'temprature' \(kd takes temperature\)/,
    );
    assert.throws(
      () =>
        combineLosses([
          { name: "at", options: { student: "a" } },
          { name: "at", options: { student: "b" } },
        ]),
      /two terms are labelled 'at'/,
    );
    assert.throws(() => combineLosses([{ name: "kd", weight: NaN }]), /weight must be a finite number/);
    assert.throws(() => combineLosses([{ name: "kd", label: "a.b" }]), /without dots/);
    assert.throws(() => combineLosses([]), /no losses given/);
    assert.throws(() => combineLosses([{ name: "arcface" }]), /numClasses must be a positive integer/);
    assert.throws(
      () => combineLosses([{ name: "fitnet", options: { studentChannels: 2, teacherChannels: 2 } }]),
      /must name feature taps/,
    );
    assert.throws(() => combineLosses([{ name: "fo", options: { metric: "l1" } }]), /loss 'fo': metric must be one of/);
  });

  test("every family is listed with its options", () => {
    const names = listLosses().map((l) => l.name);
    for (const name of [
      "embedding",
      "fo",
      "reverse",
      "arcface",
      "cosface",
      "ce",
      "kd",
      "kd-ce",
      "fitnet",
      "at",
      "lsp",
      "rkd-distance",
      "rkd-angle",
      "sp",
      "th-kd",
      "sh-kd",
    ]) {
      assert.ok(names.includes(name), name);
    }
    assert.deepEqual(listLosses().find((l) => l.name === "th-kd")!.options, ["temperature", "scale"]);
    // every registered loss but the classification terms transfers knowledge (facekd distill requires one)
    assert.deepEqual(
      distillationLosses().sort(),
      names.filter((n) => !["arcface", "cosface", "normface", "combined", "ce"].includes(n)).sort(),
    );
    assert.ok(distillationLosses().includes("fo") && !distillationLosses().includes("arcface"));
  });
});
