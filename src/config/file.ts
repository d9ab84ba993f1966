// YAML config files for the commands: parsed with line numbers, relative paths resolved against the file's folder,
// command-line overrides applied, then validated by a zod schema. Every problem becomes `<file>:<line>: <key>:
// <problem>`, the line that of the key when the YAML has it.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { isMap, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import type { z } from "zod";
import { checkConfig, ConfigError, keyText } from "./schema.js";
import { setDottedKey } from "./keys.js";

export interface ConfigFileOptions {
  /** Keys (dotted, `*` for every key of an object) naming files or folders that must exist. */
  inputs?: readonly string[];
  /** Keys naming paths to be created (resolved the same way, not checked). */
  outputs?: readonly string[];
  /** Values from the command line by dotted key, set over the file's; undefined removes the key. */
  overrides?: Readonly<Record<string, unknown>>;
}

type Key = (string | number)[];
type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => typeof v === "object" && v !== null && !Array.isArray(v);

/** The keys of `data` matching `pattern` (`*` matches each key of an object or item of a list) holding strings. */
function stringKeys(data: unknown, pattern: string[], prefix: Key = []): Key[] {
  if (pattern.length === 0) return typeof data === "string" ? [prefix] : [];
  const [head, ...rest] = pattern as [string, ...string[]];
  if (Array.isArray(data)) {
    return head === "*" ? data.flatMap((item, i) => stringKeys(item, rest, [...prefix, i])) : [];
  }
  if (!isPlain(data)) return [];
  const keys = head === "*" ? Object.keys(data) : [head];
  return keys.flatMap((k) => stringKeys(data[k], rest, [...prefix, k]));
}

function getKey(data: unknown, key: Key): unknown {
  return key.reduce<unknown>((v, k) => (isPlain(v) || Array.isArray(v) ? (v as Plain)[k] : undefined), data);
}

/** The 1-based line of the deepest part of `key` that the document has. */
function lineOf(doc: Document, lines: LineCounter, key: Key): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const k of key) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0];
      node = pair.value;
    } else if (isSeq(node) && typeof k === "number" && node.items[k]) {
      node = node.items[k];
      offset = (node as { range?: [number, number, number] }).range?.[0];
    } else break;
  }
  return offset === undefined ? undefined : lines.linePos(offset).line;
}

function parseFile(file: string): { doc: Document; lines: LineCounter } {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read the config file ${file}: ${(error as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) throw new Error(`${file}: invalid YAML: ${doc.errors[0]!.message}`);
  return { doc, lines };
}

/** `<file>:<line>: <key>: ` for a key, without the line where the key came from the command line. */
function locator(file: string, doc: Document, lines: LineCounter, overridden: ReadonlySet<string> = new Set()) {
  return (key: Key): string => {
    const fromFlags = [...overridden].some((o) => keyText(key) === o || keyText(key).startsWith(`${o}.`));
    const line = fromFlags ? undefined : lineOf(doc, lines, key);
    return `${file}${line === undefined ? "" : `:${line}`}: ${key.length ? `${keyText(key)}: ` : ""}`;
  };
}

/**
 * A ConfigError about the config read from `file` (its `what` as given: checks after parsing, such as paths and
 * relations between keys) as one `<file>:<line>: <key>: <problem>` line per problem; any other error, including
 * one about another config (a stage's own), as it is. `overrides`: the keys set from the command line (no line).
 */
export function locateConfigError(
  file: string,
  what: string,
  error: unknown,
  overrides: Iterable<string> = [],
): unknown {
  if (!(error instanceof ConfigError) || error.what !== what) return error;
  const { doc, lines } = parseFile(file);
  const where = locator(file, doc, lines, new Set(overrides));
  return new ConfigError(
    error.what,
    error.problems,
    error.problems.map((p) => `${where(p.path)}${p.problem}`),
  );
}

/** Reads, resolves and validates a YAML config file; throws one line per problem. */
export function readConfigFile<S extends z.ZodType>(
  file: string,
  schema: S,
  options: ConfigFileOptions = {},
): z.output<S> {
  const { doc, lines } = parseFile(file);
  const data: unknown = doc.toJS() ?? {}; // an empty file is an empty config: every default
  const where = locator(file, doc, lines, new Set(Object.keys(options.overrides ?? {})));

  const problems: string[] = [];
  if (isPlain(data)) {
    for (const [key, value] of Object.entries(options.overrides ?? {})) setDottedKey(data, key, value);
    const folder = path.dirname(path.resolve(file));
    for (const [patterns, mustExist] of [
      [options.inputs ?? [], true],
      [options.outputs ?? [], false],
    ] as const) {
      for (const key of patterns.flatMap((p) => stringKeys(data, p.split(".")))) {
        const value = getKey(data, key) as string;
        const resolved = path.resolve(folder, value);
        setDottedKey(data, key.join("."), resolved);
        if (mustExist && !existsSync(resolved)) {
          const how = path.isAbsolute(value) ? "" : ` (resolved against the config file's folder: ${resolved})`;
          problems.push(`${where(key)}${value} does not exist${how}`);
        }
      }
    }
  }
  const checked = checkConfig(schema, data);
  if (!checked.ok) problems.unshift(...checked.problems.map((p) => `${where(p.path)}${p.problem}`));
  if (problems.length > 0) throw new Error(problems.join("\n"));
  return (checked as { value: z.output<S> }).value;
}
