// Training progress as plain lines, one per log interval: the library's default. A terminal front end (the CLI's
// progress bar) is another listener of the same events.
import type { StepEvent, TrainListener } from "../events.js";

const fmt = (x: number): string => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(3));

/** `loss 1.2345 (arcface 1.1, fo 0.02) | lr 0.1000 | 52.3 img/s` */
export function describeStep({ outcome, lr, interval }: StepEvent): string {
  const parts = Object.entries(outcome.terms).map(([k, v]) => `${k} ${fmt(v)}`);
  const speed = interval === null ? "" : ` | ${interval.imagesPerSecond.toFixed(1)} img/s`;
  return `loss ${fmt(outcome.value)}${parts.length > 1 ? ` (${parts.join(", ")})` : ""} | lr ${fmt(lr)}${speed}`;
}

export function progressLines(log: (line: string) => void): TrainListener {
  return {
    step(event, loop) {
      if (event.outcome.problem === null && event.interval !== null) {
        log(`step ${event.step}/${loop.totalSteps} | ${describeStep(event)}`);
      }
    },
  };
}
