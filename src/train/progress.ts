// Training progress: a cli-progress bar on a terminal, plain lines (one per log interval) otherwise.
import cliProgress from "cli-progress";

export interface ProgressInfo {
  step: number;
  total: number;
  loss: number;
  terms: Record<string, number>;
  lr: number;
  imagesPerSecond: number;
}

export interface Progress {
  update(info: ProgressInfo): void;
  /** A line that must not be lost in the bar (warnings). */
  message(line: string): void;
  stop(): void;
}

const fmt = (x: number): string => (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? x.toFixed(4) : x.toExponential(3));

export function describeStep({ loss, terms, lr, imagesPerSecond }: ProgressInfo): string {
  const parts = Object.entries(terms).map(([k, v]) => `${k} ${fmt(v)}`);
  return `loss ${fmt(loss)}${parts.length > 1 ? ` (${parts.join(", ")})` : ""} | lr ${fmt(lr)} | ${imagesPerSecond.toFixed(1)} img/s`;
}

/** A bar on `stream` when it is a terminal; otherwise each update() call prints a line through `log`. */
export function createProgress(
  stream: NodeJS.WriteStream,
  log: (line: string) => void,
  startStep: number,
  total: number,
): Progress {
  if (!stream.isTTY) {
    return {
      update: (info) => log(`step ${info.step}/${info.total} | ${describeStep(info)}`),
      message: log,
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream, format: "step {value}/{total} {bar} {percentage}% | ETA {eta_formatted} | {details}", etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, startStep, { details: "" });
  return {
    update: (info) => bar.update(info.step, { details: describeStep(info) }),
    message: (line) => {
      stream.write("\n");
      log(line);
    },
    stop: () => bar.stop(),
  };
}
