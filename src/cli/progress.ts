// Progress for long commands: a bar with ETA on a terminal, a line per 10% otherwise (logs, CI).
import cliProgress from "cli-progress";

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
