// Command-line plumbing shared by the benchmarks: argument parsing with --help, numeric options, paths.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The package root (bench files run from dist/bench/ once compiled). */
export const ROOT = ((): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`bench: cannot find the package root from ${import.meta.url}`);
    dir = parent;
  }
  return dir;
})();

/** The Python peers' interpreter: Debian's, which has python3-torch and numpy. */
export function peerPython(option: string | undefined): string {
  return option ?? process.env.FACEKD_PYTHON ?? "/usr/bin/python3";
}

type OptionSpec = { type: "string" | "boolean"; short?: string; default?: string | boolean };
type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]: O[K]["type"] extends "boolean" ? boolean | undefined : string | undefined;
};

/** Parses the command line; `--help` prints `usage` and exits. */
export function benchArgs<O extends Record<string, OptionSpec>>(usage: string, options: O): Values<O> {
  const { values } = parseArgs({ options: { ...options, help: { type: "boolean", short: "h" } } }) as {
    values: Record<string, unknown>;
  };
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Values<O>;
}

/** A numeric option: `fallback` when absent; a value below `min` (or not an integer) exits with the usage. */
export function numberArg(
  usage: string,
  name: string,
  value: string | undefined,
  fallback: number,
  { integer = true, min = 1 } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    console.error(`--${name}: expected ${integer ? "an integer" : "a number"} >= ${min}, got '${value}'\n${usage}`);
    process.exit(2);
  }
  return n;
}
