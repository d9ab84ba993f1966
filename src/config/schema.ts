// Validating configurations with zod: strict objects whose unknown-key error lists the allowed keys, and zod's
// issues turned into "<key path> <problem>" lines that name the key as a user writes it.
import { z } from "zod";

/** A strict object whose unknown-key error lists the keys it allows. */
export function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) => (issue.code === "unrecognized_keys" ? `is not a known key (allowed: ${allowed})` : undefined),
  });
}

export interface ConfigProblem {
  path: (string | number)[];
  /** `optimizer.lr`, `losses[0].name`; empty for the whole config. */
  key: string;
  /** Starts with a verb: "must be >= 0, got -1". */
  problem: string;
}

const show = (value: unknown): string =>
  typeof value === "string"
    ? `'${value}'`
    : typeof value === "number" // NaN and Infinity, which JSON writes as null
      ? String(value)
      : (JSON.stringify(value) ?? "null");

/** The message of a zod issue that no schema customized. */
function describeIssue(issue: z.core.$ZodRawIssue): string {
  const got = issue.input === undefined ? "" : `, got ${show(issue.input)}`;
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "is required";
      if (typeof issue.input === "number" && !Number.isFinite(issue.input)) return `must be a finite number${got}`;
      return issue.expected === "int"
        ? `must be an integer${got}`
        : `must be a${/^[aeiou]/.test(issue.expected) ? "n" : ""} ${issue.expected}${got}`;
    case "too_small":
      return issue.origin === "array"
        ? `must have at least ${issue.minimum} items${got}`
        : `must be ${issue.inclusive ? ">=" : ">"} ${issue.minimum}${got}`;
    case "too_big":
      return issue.origin === "array"
        ? `must have at most ${issue.maximum} items${got}`
        : `must be ${issue.inclusive ? "<=" : "<"} ${issue.maximum}${got}`;
    case "invalid_value":
      return `must be one of ${issue.values.map(show).join(", ")}${got}`;
    case "unrecognized_keys": // objects made with strict() list the keys they allow instead
      return "is not a known key";
    default:
      return issue.message ?? "is invalid";
  }
}

/** A key path as users write it: `losses[0].options.temperature`. */
export const keyText = (path: readonly (string | number)[]): string =>
  path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");

/** Validates `data`: the parsed value, or every problem found, an unknown key as its own path. */
export function checkConfig<S extends z.ZodType>(
  schema: S,
  data: unknown,
): { ok: true; value: z.output<S> } | { ok: false; problems: ConfigProblem[] } {
  const result = schema.safeParse(data, { error: describeIssue });
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.flatMap((issue) => {
    const path = issue.path as (string | number)[];
    const paths = issue.code === "unrecognized_keys" ? issue.keys.map((k) => [...path, k]) : [path];
    return paths.map((p) => ({ path: p, key: keyText(p), problem: issue.message }));
  });
  return { ok: false, problems };
}

/** Problems with named config keys, found by the schema or by later checks (paths, relations between keys). A
 *  command that read the config from a file turns them into `<file>:<line>: <key>: <problem>` lines. */
export class ConfigError extends RangeError {
  override name = "ConfigError";
  constructor(
    readonly what: string,
    readonly problems: readonly ConfigProblem[],
    /** The message's lines (default: `<what>: <key> <problem>; ...` on one line). */
    lines?: readonly string[],
  ) {
    super(
      lines?.join("\n") ??
        `${what}: ${problems.map(({ key, problem }) => `${key === "" ? "" : `${key} `}${problem}`).join("; ")}`,
    );
  }
}

/** The parsed value of `data`, or a ConfigError `<what>: <key> <problem>; ...` naming every bad key. */
export function parseConfig<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const checked = checkConfig(schema, data);
  if (checked.ok) return checked.value;
  throw new ConfigError(what, checked.problems);
}

/** Problems collected by the checks after parsing (paths, relations between keys), thrown together. */
export class ConfigProblems {
  readonly list: ConfigProblem[] = [];

  /** Adds `problem` at `path`; null adds nothing. */
  add(path: (string | number)[], problem: string | null): void {
    if (problem !== null) this.list.push({ path, key: keyText(path), problem });
  }

  /** Runs `check`, turning what it throws into a problem at `path`. */
  catch<T>(path: (string | number)[], check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      this.add(path, (error as Error).message);
      return undefined;
    }
  }

  throwIfAny(what: string): void {
    if (this.list.length > 0) throw new ConfigError(what, this.list);
  }
}
