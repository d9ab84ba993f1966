// metrics.jsonl as a listener: each log interval's loss, terms, lr, throughput and (float16) loss scale, every
// skipped step with its reason, and every evaluation. A resumed run first drops the records after its checkpoint's step.
import type { TrainListener } from "../events.js";
import type { MetricsLog } from "../metrics.js";

export function metricsListener(metrics: MetricsLog): TrainListener {
  return {
    start: (loop) => metrics.truncateAfter(loop.step),
    step({ step, epoch, lr, outcome, interval }) {
      const scale = outcome.lossScale !== undefined ? { lossScale: outcome.lossScale } : {};
      if (outcome.problem !== null) metrics.append({ step, skipped: outcome.problem, terms: outcome.terms, ...scale });
      else if (interval !== null) {
        const { value: loss, terms } = outcome;
        metrics.append({ step, epoch, loss, terms, lr, imagesPerSecond: interval.imagesPerSecond, ...scale });
      }
    },
    evaluation: ({ step, results }) => metrics.append({ step, eval: results }),
  };
}
