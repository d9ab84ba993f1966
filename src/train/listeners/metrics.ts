// metrics.jsonl as a listener: each log interval's loss, terms, lr and throughput, every skipped step with its
// reason, and every evaluation. A resumed run first drops the records after its checkpoint's step.
import type { TrainListener } from "../events.js";
import type { MetricsLog } from "../metrics.js";

export function metricsListener(metrics: MetricsLog): TrainListener {
  return {
    start: (loop) => metrics.truncateAfter(loop.step),
    step({ step, epoch, lr, outcome, interval }) {
      if (outcome.problem !== null) metrics.append({ step, skipped: outcome.problem, terms: outcome.terms });
      else if (interval !== null) {
        const { value: loss, terms } = outcome;
        metrics.append({ step, epoch, loss, terms, lr, imagesPerSecond: interval.imagesPerSecond });
      }
    },
    evaluation: ({ step, results }) => metrics.append({ step, eval: results }),
  };
}
