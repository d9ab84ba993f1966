// The grid of a sweep (`sweep:` in a refo config): the cartesian product of the listed values, each point a
// complete refo config checked like any other, with a problem named at its `sweep.<key>`.
import { ConfigError, setDottedKey, type ConfigProblem } from "../config/index.js";
import { resolveRefoConfig, type RefoConfig } from "./config.js";

export type SweepValue = number | string | boolean;

export interface SweepPoint {
  /** `seed=1_refo.beta1=0.5`: the point's folder under `points/`, and its name in tables. */
  name: string;
  /** The swept keys' values at this point, in the sweep's order. */
  values: Record<string, SweepValue>;
  /** The run's config with those values set (and no sweep). */
  config: RefoConfig;
}

/** Keys that name the sweep itself or its folder: a sweep cannot vary them. */
const FIXED_KEYS = new Set(["sweep", "name", "runDir"]);

/** The key over whose values a sweep's results are averaged. */
export const SEED_KEY = "seed";

function combinations(grid: readonly [string, readonly SweepValue[]][]): Record<string, SweepValue>[] {
  return grid.reduce<Record<string, SweepValue>[]>(
    (points, [key, values]) => points.flatMap((point) => values.map((value) => ({ ...point, [key]: value }))),
    [{}],
  );
}

const pointName = (values: Record<string, SweepValue>): string =>
  Object.entries(values)
    .map(([key, value]) => `${key}=${String(value).replace(/[^\w.+-]/g, "_")}`)
    .join("_");

/** A problem of a point's config, moved to the swept key that caused it (when one did). */
function blame(problem: ConfigProblem, values: Record<string, SweepValue>): ConfigProblem {
  const key = Object.keys(values).find((k) => problem.key === k || problem.key.startsWith(`${k}.`));
  if (key === undefined) return problem;
  const path = ["sweep", key];
  return { path, key: `sweep.${key}`, problem: `${JSON.stringify(values[key])}: ${problem.key} ${problem.problem}` };
}

/** Every point of `config`'s sweep (one point, named "", without a sweep); a bad key or value is a ConfigError. */
export function sweepPoints(config: RefoConfig): SweepPoint[] {
  const grid = Object.entries(config.sweep ?? {});
  const fixed = grid.filter(([key]) => FIXED_KEYS.has(key.split(".")[0]!));
  if (fixed.length > 0) {
    throw new ConfigError(
      "refo config",
      fixed.map(([key]) => ({
        path: ["sweep", key],
        key: `sweep.${key}`,
        problem: "cannot be swept: a sweep is one run folder with one name",
      })),
    );
  }
  const base = { ...config, sweep: undefined };
  const names = new Set<string>();
  return combinations(grid).map((values) => {
    const input: Record<string, unknown> = structuredClone(base);
    for (const [key, value] of Object.entries(values)) setDottedKey(input, key, value);
    let pointConfig: RefoConfig;
    try {
      pointConfig = resolveRefoConfig(input);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(
        "refo config",
        error.problems.map((p) => blame(p, values)),
      );
    }
    const name = pointName(values);
    if (names.has(name))
      throw new ConfigError("refo config", [
        { path: ["sweep"], key: "sweep", problem: `lists the point ${name} twice` },
      ]);
    names.add(name);
    return { name, values, config: pointConfig };
  });
}
