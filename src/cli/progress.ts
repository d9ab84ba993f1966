// Progress for long commands: a bar with ETA on a terminal, a line per 10% otherwise (logs, CI).
import cliProgress from "cli-progress";
import { describeStep, progressLines, type TrainListener } from "../train/index.js";

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progress(label: string): Progress {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted}`, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(done, total) {
        if (!started) bar.start(total, done);
        started = true;
        bar.setTotal(total);
        bar.update(done);
      },
      stop: () => bar.stop(),
    };
  }
  let lastDecile = -1;
  return {
    update(done, total) {
      const decile = total > 0 ? Math.floor((10 * done) / total) : 10;
      if (decile !== lastDecile) console.error(`${label}: ${done}/${total}`);
      lastDecile = decile;
    },
    stop: () => undefined,
  };
}

/**
 * Training progress for the trainer's listeners: a bar with ETA and the latest loss on a terminal, a line per log
 * interval otherwise. Its `log` prints warnings above the bar.
 */
export function trainingProgress(): { listener: TrainListener; log: (line: string) => void } {
  const stream = process.stderr;
  const log = (line: string) => void stream.write(line + "\n");
  if (!stream.isTTY) return { listener: progressLines(log), log };
  const bar = new cliProgress.SingleBar(
    { stream, format: "step {value}/{total} {bar} {percentage}% | ETA {eta_formatted} | {details}", etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  let active = false;
  return {
    listener: {
      start: (loop) => {
        bar.start(loop.totalSteps, loop.step, { details: "" });
        active = true;
      },
      step: (event) => bar.update(event.step, event.interval === null ? {} : { details: describeStep(event) }),
      close: () => {
        if (active) bar.stop();
        active = false;
      },
    },
    log: (line) => log(active ? `\n${line}` : line),
  };
}
