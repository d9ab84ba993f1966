import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import {
  deepMutualLearning,
  embeddingLoss,
  emaUpdate,
  freeze,
  frozenOutputs,
  mutual,
  snapshot,
} from "../../src/distill/index.js";
import { f64, kl, mean, softmax, valueOf, ZS, ZT } from "./reference.js";

const { nn } = torch;

describe("offline", () => {
  test("freeze: eval mode, no gradient to the parameters", () => {
    const net = freeze(new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2)));
    assert.equal(net.training, false);
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    net.dispose();
  });

  test("a frozen teacher's outputs carry no gradient", () => {
    torch.tidy(() => {
      const x = f64(ZS).requiresGrad_(true);
      const model = { forwardFeatures: (t: torch.Tensor) => ({ embedding: t.mul(2), stages: { stage1: t.mul(3) } }) };
      const out = frozenOutputs(model, x);
      assert.equal(out.embedding!.requiresGrad, false);
      assert.equal(out.features!.stage1!.requiresGrad, false);
      assert.deepEqual(
        out.embedding!.toNumbers(),
        ZS.flat().map((v) => 2 * v),
      );
    });
  });
});

describe("online", () => {
  test("mutual: each direction's gradient reaches one model only", () => {
    torch.tidy(() => {
      const fs = f64(ZS).requiresGrad_(true);
      const ft = f64(ZT).requiresGrad_(true);
      const both = mutual(embeddingLoss({ metric: "l2" }))({ student: { embedding: fs }, teacher: { embedding: ft } });
      assert.ok(Math.abs(both.student.item() - both.teacher.item()) < 1e-12);
      both.student.backward();
      assert.equal(ft.grad, null);
      const studentGrad = fs.grad!.toNumbers();
      both.teacher.backward();
      assert.deepEqual(fs.grad!.toNumbers(), studentGrad, "the teacher direction adds nothing to the student");
      assert.ok(ft.grad!.abs().sum().item() > 0);
    });
  });

  test("deep mutual learning: KL(p_t || p_s) for the student, KL(p_s || p_t) for the teacher", () => {
    const { student, teacher } = torch.tidy(() => {
      const r = deepMutualLearning()({ student: { logits: f64(ZS) }, teacher: { logits: f64(ZT) } });
      return { student: r.student.item(), teacher: r.teacher.item() };
    });
    const ps = ZS.map(softmax);
    const pt = ZT.map(softmax);
    assert.ok(Math.abs(student - mean(ps.map((p, i) => kl(pt[i]!, p)))) < 1e-12);
    assert.ok(Math.abs(teacher - mean(ps.map((p, i) => kl(p, pt[i]!)))) < 1e-12);
  });
});

describe("self-distillation", () => {
  const build = () => new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));

  test("snapshot: a frozen copy of the current weights, independent of later training", () => {
    const live = build();
    const copy = snapshot(live, build);
    const weights = (m: torch.nn.Module) => torch.tidy(() => [...m.stateDict()].map(([, t]) => t.toNumbers()));
    assert.deepEqual(weights(copy), weights(live));
    assert.ok(copy.parameters().every((p) => !p.requiresGrad) && !copy.training);
    torch.noGrad(() => live.parameters()[0]!.add_(1));
    assert.notDeepEqual(weights(copy), weights(live));
    live.dispose();
    copy.dispose();
  });

  test("emaUpdate: decay * snapshot + (1 - decay) * model; integer buffers copied", () => {
    const live = build();
    const copy = snapshot(live, build);
    torch.noGrad(() => {
      live.parameters()[0]!.fill_(1);
      copy.parameters()[0]!.fill_(3);
    });
    torch.tidy(() => live.train().forward(torch.randn([4, 3]))); // counts a batch, moves running statistics
    const runningMean = torch.tidy(() => live.stateDict().get("1.running_mean")!.toNumbers());
    emaUpdate(copy, live, 0.9);
    const state = copy.stateDict();
    torch.tidy(() => {
      assert.ok(
        state
          .get("0.weight")!
          .toNumbers()
          .every((v) => Math.abs(v - (0.9 * 3 + 0.1 * 1)) < 1e-6),
      );
      state
        .get("1.running_mean")!
        .toNumbers()
        .forEach((v, i) => assert.ok(Math.abs(v - 0.1 * runningMean[i]!) < 1e-6));
      assert.equal(state.get("1.num_batches_tracked")!.item(), 1);
    });
    assert.throws(() => emaUpdate(copy, new nn.Linear(3, 2)), /emaUpdate: the snapshot and the model differ/);
    live.dispose();
    copy.dispose();
  });

  test("a snapshot computes what the model computed when it was taken", () => {
    const live = build().eval();
    const copy = snapshot(live, build);
    const x = torch.randn([2, 3]);
    assert.ok(Math.abs(valueOf(() => live.forward(x).sub(copy.forward(x)).abs().sum())) < 1e-12);
    x.dispose();
    live.dispose();
    copy.dispose();
  });
});
