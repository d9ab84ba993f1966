import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../../src/torch/index.js";
import { EmbeddingQueue, combineLosses, qudLoss, queueContrast } from "../../src/distill/index.js";
import { gradcheck, input } from "../helpers/gradcheck.js";
import { dot, f64, FS, FT, mean, softmax, unit, valueOf, type Matrix } from "./reference.js";

const QUEUE: Matrix = [
  [0, 1, 0],
  [1, 1, -1],
  [-2, 0.5, 0.1],
];

function qud(s: Matrix, t: Matrix, queue: Matrix, tau: number): number {
  return mean(
    s.map((row, i) => {
      const q = unit(row);
      const logits = [dot(q, unit(t[i]!)), ...queue.map((n) => dot(q, unit(n)))].map((x) => x / tau);
      return -Math.log(softmax(logits)[0]!);
    }),
  );
}

/** A float64 queue holding `rows`. */
function queueOf(rows: Matrix): EmbeddingQueue {
  const queue = new EmbeddingQueue(rows.length, rows[0]!.length).to({ dtype: "float64" });
  torch.noGrad(() => torch.tidy(() => queue.queue.copy_(f64(rows))));
  return queue;
}

describe("QUD", () => {
  test("cross entropy of the positive teacher embedding against the queue's negatives at temperature tau", () => {
    for (const tau of [0.07, 0.5]) {
      const want = qud(FS, FT, QUEUE, tau);
      assert.ok(Math.abs(valueOf(() => queueContrast(f64(FS), f64(FT), f64(QUEUE), tau)) - want) < 1e-9 * want);
    }
  });

  test("each step uses the queue as it was, then replaces its oldest rows by the batch's teacher embeddings", () => {
    const queue = queueOf(QUEUE);
    const loss = qudLoss(queue, { temperature: 0.5 });
    const first = valueOf(() => loss({ student: { embedding: f64(FS) }, teacher: { embedding: f64(FT) } }));
    assert.ok(Math.abs(first - qud(FS, FT, QUEUE, 0.5)) < 1e-12);
    const afterOne = [unit(FT[0]!), unit(FT[1]!), QUEUE[2]!];
    assert.deepEqual(queue.position.toNumbers(), [2]);
    torch.tidy(() => assert.ok(queue.queue.sub(f64(afterOne)).abs().max().item() < 1e-12));

    const second = valueOf(() => loss({ student: { embedding: f64(FT) }, teacher: { embedding: f64(FS) } }));
    assert.ok(Math.abs(second - qud(FT, FS, afterOne, 0.5)) < 1e-12);
    // wrapped around: rows 2 and 0 replaced, in that order
    const afterTwo = [unit(FS[1]!), unit(FT[1]!), unit(FS[0]!)];
    assert.deepEqual(queue.position.toNumbers(), [1]);
    torch.tidy(() => assert.ok(queue.queue.sub(f64(afterTwo)).abs().max().item() < 1e-12));
    queue.dispose();
  });

  test("the queue is a buffer of the objective's module, saved with the run; a batch larger than it is an error", () => {
    const loss = combineLosses([{ name: "qud", options: { queueSize: 2, embeddingSize: 3 } }]);
    assert.deepEqual([...loss.module.stateDict().keys()].sort(), ["qud.position", "qud.queue"]);
    assert.equal(loss.module.parameters().length, 0);
    torch.tidy(() =>
      assert.throws(
        () => loss({ student: { embedding: torch.randn([3, 3]) }, teacher: { embedding: torch.randn([3, 3]) } }),
        /a batch of 3 does not fit a queue of 2: set queueSize to at least the batch size/,
      ),
    );
    loss.module.dispose();
  });

  test("gradients match finite differences", () => {
    gradcheck(([s]) => queueContrast(s!, f64(FT), f64(QUEUE), 0.5), [input([2, 3], 1)]);
  });
});
