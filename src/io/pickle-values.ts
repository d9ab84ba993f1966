// What callers of the safe pickle reader (pickle.ts) see: its options and allow-list handlers (with the common
// harmless ones), the values it builds beyond plain JavaScript ones (globals, inert objects, tuples as frozen
// arrays), its error, and describeValue, which names a value in error messages.

/** How an allowed global behaves. Without `call` it may appear only as a value (e.g. a storage class). */
export interface GlobalHandler {
  /** REDUCE (`f(*args)`), NEWOBJ (`cls.__new__(cls, *args)`) and NEWOBJ_EX (with keyword arguments). */
  call?(args: unknown[], kwargs?: Map<unknown, unknown>): unknown;
  /** BUILD (`obj.__setstate__(state)`) on an object this global made: must update `obj` in place. */
  build?(obj: unknown, state: unknown): void;
}

export interface PickleOptions {
  /** The allow-list, keyed by `module.name` (e.g. `collections.OrderedDict`). Any other global is an error. */
  globals?: Readonly<Record<string, GlobalHandler>>;
  /** Resolves BINPERSID/PERSID ids (e.g. torch storages). Without it a persistent id is an error. */
  persistentLoad?: (pid: unknown) => unknown;
  /** Python 2 `str` (BINSTRING, SHORT_BINSTRING): raw bytes (default, like `encoding="bytes"`) or latin-1 text. */
  py2Strings?: "bytes" | "latin1";
  /** Names the input in error messages, e.g. `model.pth (archive/data.pkl)`. */
  source?: string;
}

export class PickleError extends Error {
  override name = "PickleError";
}

/** A reference to an allowed global, as pushed by GLOBAL/STACK_GLOBAL. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly handler: GlobalHandler,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An inert record for an object of an allowed class that has no better representation. */
export class PickleObject {
  state: unknown = undefined;
  constructor(
    readonly className: string,
    readonly args: unknown[],
  ) {}
}

/** True for values that were Python tuples (lists are plain arrays, tuples frozen ones). */
export function isTuple(value: unknown): boolean {
  return Array.isArray(value) && Object.isFrozen(value);
}

/** A handler for an allowed class whose objects become PickleObject records (args and BUILD state kept). */
export function placeholderGlobal(className: string): GlobalHandler {
  return {
    call: (args) => new PickleObject(className, args),
    build: (obj, state) => {
      (obj as PickleObject).state = state;
    },
  };
}

function bytesFromLatin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new PickleError(`character U+${c.toString(16)} is not latin-1`);
    out[i] = c;
  }
  return out;
}

function iterableItems(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return [...value.keys()];
  if (value instanceof Uint8Array) return [...value];
  throw new PickleError(`expected an iterable argument, got ${describeValue(value)}`);
}

function bytesConstructor(): GlobalHandler {
  return {
    call: ([source, encoding]) => {
      if (typeof source === "string") {
        if (encoding === "latin1" || encoding === "latin-1") return bytesFromLatin1(source);
        if (encoding === "utf-8" || encoding === "utf8") return new TextEncoder().encode(source);
        throw new PickleError(`unsupported text encoding ${describeValue(encoding)}`);
      }
      return Uint8Array.from(iterableItems(source) as number[]);
    },
  };
}

/**
 * Harmless data constructors that pickles of plain data use (OrderedDict, set, and the ways protocol 2 spells
 * bytes). Spread into `globals` where wanted.
 */
export const commonGlobals: Readonly<Record<string, GlobalHandler>> = {
  "collections.OrderedDict": {
    call: ([items]) => {
      if (items instanceof Map) return new Map(items);
      const map = new Map<unknown, unknown>();
      for (const pair of iterableItems(items)) {
        if (!Array.isArray(pair) || pair.length !== 2) {
          throw new PickleError(`expected (key, value) pairs, got ${describeValue(pair)}`);
        }
        map.set(pair[0], pair[1]);
      }
      return map;
    },
    // state dicts carry attributes (torch's `_metadata` of module versions) that a Map has no place for
    build: () => {},
  },
  "builtins.set": { call: ([items]) => new Set(iterableItems(items)) },
  "builtins.frozenset": { call: ([items]) => new Set(iterableItems(items)) },
  "builtins.bytes": bytesConstructor(),
  "builtins.bytearray": bytesConstructor(),
  // protocol 2 pickles bytes as _codecs.encode(latin-1 text, "latin1")
  "_codecs.encode": bytesConstructor(),
};

/** A short description of a value for error messages (Python's names for Python's types). */
export function describeValue(value: unknown): string {
  if (value === null) return "None";
  if (value instanceof PickleGlobal) return `global ${value.qualifiedName}`;
  if (value instanceof Map) return "dict";
  if (value instanceof Set) return "set";
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return isTuple(value) ? "tuple" : "list";
  if (typeof value === "string") return `str ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "..." : value)}`;
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
