// A safe reader for Python pickles (protocols 2-5, and the simple text opcodes of 0 and 1). It only builds data:
// a global (class or function) is reachable only through the allow-list the caller passes, persistent ids only
// through the caller's callback, and nothing is ever imported or executed.
//
// Python values become: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
// str -> string, bytes -> Uint8Array (a view into the input), bytearray -> Uint8Array (a copy), list -> array,
// tuple -> frozen array (see isTuple), dict -> Map, set/frozenset -> Set, global -> PickleGlobal.
import { ByteReader } from "./pickle-bytes.js";
import { LITERALS } from "./pickle-literals.js";
import { describeValue, isTuple, PickleError, PickleGlobal, type PickleOptions } from "./pickle-values.js";

export {
  commonGlobals,
  describeValue,
  isTuple,
  placeholderGlobal,
  PickleError,
  PickleGlobal,
  PickleObject,
  type GlobalHandler,
  type PickleOptions,
} from "./pickle-values.js";

// prettier-ignore
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
  0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID", 0x51: "BINPERSID",
  0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE",
  0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT", 0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET",
  0x68: "BINGET", 0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT",
  0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS",
  0x47: "BINFLOAT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1",
  0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4",
  0x42: "BINBYTES", 0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE",
  0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

// Python 3 reads protocol 0-2 pickles with these module names from Python 2 renamed (fix_imports)
const PY2_MODULES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" };

/** Reads one pickled object from `data`. Throws PickleError for malformed, truncated or disallowed input. */
export function unpickle(data: Uint8Array, options: PickleOptions = {}): unknown {
  return new Unpickler(data, options).load();
}

class Unpickler {
  readonly #input: ByteReader;
  readonly #options: PickleOptions;
  #opStart = 0;
  #op = 0;
  #proto = 0;
  #stack: unknown[] = [];
  readonly #metastack: unknown[][] = [];
  readonly #memo = new Map<number, unknown>();
  // which allowed global made each object, so that BUILD finds its handler
  readonly #makers = new WeakMap<object, PickleGlobal>();

  constructor(data: Uint8Array, options: PickleOptions) {
    this.#input = new ByteReader(data, (message) => this.#fail(message));
    this.#options = options;
  }

  #fail(message: string, cause?: unknown): never {
    const op = OPCODE_NAMES[this.#op] ?? `0x${this.#op.toString(16).padStart(2, "0")}`;
    const where = this.#op < 0 ? `(at byte ${this.#opStart})` : `(opcode ${op} at byte ${this.#opStart})`;
    throw new PickleError(`${this.#options.source ?? "pickle"}: ${message} ${where}`, { cause });
  }

  // Runs caller code (a handler or persistentLoad), giving its errors this pickle's context.
  #guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.#fail(`${what}: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  #push(v: unknown): void {
    this.#stack.push(v);
  }
  #pop(): unknown {
    if (this.#stack.length === 0) this.#fail("stack underflow (malformed pickle)");
    return this.#stack.pop();
  }
  #top(): unknown {
    if (this.#stack.length === 0) this.#fail("stack underflow (malformed pickle)");
    return this.#stack[this.#stack.length - 1];
  }
  #popMark(): unknown[] {
    const items = this.#stack;
    const outer = this.#metastack.pop();
    if (outer === undefined) this.#fail("no MARK to pop to (malformed pickle)");
    this.#stack = outer;
    return items;
  }
  #memoGet(index: number): unknown {
    if (!this.#memo.has(index)) this.#fail(`memo entry ${index} was never stored (malformed pickle)`);
    return this.#memo.get(index);
  }
  #memoPut(index: number): void {
    this.#memo.set(index, this.#top());
  }

  #global(module: string, name: string): PickleGlobal {
    if (this.#proto < 3) module = PY2_MODULES[module] ?? module;
    const key = `${module}.${name}`;
    const handler = this.#options.globals?.[key];
    if (handler === undefined || !Object.hasOwn(this.#options.globals!, key)) {
      this.#fail(
        `global '${key}' is not allowed: this reader never imports or runs code, and only resolves the ` +
          `globals its caller allows (add a handler for '${key}' to the allow-list if the data is expected to hold it)`,
      );
    }
    return new PickleGlobal(module, name, handler);
  }

  #call(callable: unknown, args: unknown, kwargs?: Map<unknown, unknown>): void {
    if (!(callable instanceof PickleGlobal))
      this.#fail(`cannot call a ${describeValue(callable)}: only globals are callable`);
    if (!Array.isArray(args))
      this.#fail(`arguments of ${callable.qualifiedName} must be a tuple, got ${describeValue(args)}`);
    const call = callable.handler.call;
    if (call === undefined) this.#fail(`${callable.qualifiedName} is allowed only as a value, not as a callable`);
    const result = this.#guard(callable.qualifiedName, () => call.call(callable.handler, [...args], kwargs));
    if (typeof result === "object" && result !== null) this.#makers.set(result, callable);
    this.#push(result);
  }

  #setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.#fail(`cannot set items on a ${describeValue(target)}`);
    if (items.length % 2 !== 0) this.#fail("odd number of items for a dict");
    for (let i = 0; i < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  load(): unknown {
    const input = this.#input;
    for (;;) {
      this.#opStart = input.pos;
      if (input.remaining === 0) {
        this.#op = -1;
        this.#fail("truncated data: the pickle ends without STOP");
      }
      const op = (this.#op = input.u8());
      const literal = LITERALS[op];
      if (literal !== undefined) {
        this.#push(literal(input, this.#options));
        continue;
      }
      switch (op) {
        case 0x80: // PROTO
          this.#proto = input.u8();
          if (this.#proto > 5) this.#fail(`unsupported pickle protocol ${this.#proto} (this reader knows 0-5)`);
          break;
        case 0x95: {
          // FRAME: only a buffering hint, but its length must fit
          const n = input.u64();
          if (n > input.remaining) this.#fail(`truncated data: a frame of ${n} bytes runs past the end`);
          break;
        }
        case 0x2e: // STOP
          if (this.#metastack.length > 0) this.#fail("STOP inside an open MARK (malformed pickle)");
          return this.#pop();
        case 0x28: // MARK
          this.#metastack.push(this.#stack);
          this.#stack = [];
          break;
        case 0x30: // POP
          if (this.#stack.length > 0) this.#stack.pop();
          else this.#popMark();
          break;
        case 0x31: // POP_MARK
          this.#popMark();
          break;
        case 0x32: // DUP
          this.#push(this.#top());
          break;

        case 0x85: // TUPLE1
          this.#push(Object.freeze([this.#pop()]));
          break;
        case 0x86: {
          // TUPLE2
          const b = this.#pop();
          const a = this.#pop();
          this.#push(Object.freeze([a, b]));
          break;
        }
        case 0x87: {
          // TUPLE3
          const c = this.#pop();
          const b = this.#pop();
          const a = this.#pop();
          this.#push(Object.freeze([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.#push(Object.freeze(this.#popMark()));
          break;
        case 0x6c: // LIST
          this.#push(this.#popMark());
          break;
        case 0x61: {
          // APPEND
          const v = this.#pop();
          const list = this.#top();
          if (!Array.isArray(list) || isTuple(list)) this.#fail(`cannot append to a ${describeValue(list)}`);
          list.push(v);
          break;
        }
        case 0x65: {
          // APPENDS
          const items = this.#popMark();
          const list = this.#top();
          if (!Array.isArray(list) || isTuple(list)) this.#fail(`cannot append to a ${describeValue(list)}`);
          for (const v of items) list.push(v);
          break;
        }
        case 0x64: {
          // DICT
          const map = new Map();
          this.#setItems(map, this.#popMark());
          this.#push(map);
          break;
        }
        case 0x73: {
          // SETITEM
          const v = this.#pop();
          const k = this.#pop();
          this.#setItems(this.#top(), [k, v]);
          break;
        }
        case 0x75: {
          // SETITEMS
          const items = this.#popMark();
          this.#setItems(this.#top(), items);
          break;
        }
        case 0x90: {
          // ADDITEMS
          const items = this.#popMark();
          const set = this.#top();
          if (!(set instanceof Set)) this.#fail(`cannot add items to a ${describeValue(set)}`);
          for (const v of items) set.add(v);
          break;
        }
        case 0x91: // FROZENSET
          this.#push(new Set(this.#popMark()));
          break;

        case 0x63: {
          // GLOBAL
          const module = input.line();
          const name = input.line();
          this.#push(this.#global(module, name));
          break;
        }
        case 0x93: {
          // STACK_GLOBAL
          const name = this.#pop();
          const module = this.#pop();
          if (typeof module !== "string" || typeof name !== "string") {
            this.#fail("STACK_GLOBAL needs a module and a name as strings");
          }
          this.#push(this.#global(module, name));
          break;
        }
        case 0x52: {
          // REDUCE
          const args = this.#pop();
          this.#call(this.#pop(), args);
          break;
        }
        case 0x81: {
          // NEWOBJ
          const args = this.#pop();
          this.#call(this.#pop(), args);
          break;
        }
        case 0x92: {
          // NEWOBJ_EX
          const kwargs = this.#pop();
          const args = this.#pop();
          if (!(kwargs instanceof Map)) this.#fail(`keyword arguments must be a dict, got ${describeValue(kwargs)}`);
          this.#call(this.#pop(), args, kwargs);
          break;
        }
        case 0x62: {
          // BUILD
          const state = this.#pop();
          const obj = this.#top();
          const maker = typeof obj === "object" && obj !== null ? this.#makers.get(obj) : undefined;
          if (maker?.handler.build === undefined) {
            this.#fail(
              maker === undefined
                ? `cannot set the state of a ${describeValue(obj)} that no allowed global made`
                : `${maker.qualifiedName} has no build handler for the state its objects carry`,
            );
          }
          const build = maker.handler.build;
          this.#guard(`${maker.qualifiedName} (BUILD)`, () => build.call(maker.handler, obj, state));
          break;
        }
        case 0x51: // BINPERSID
        case 0x50: {
          // PERSID
          const pid = op === 0x50 ? input.line() : this.#pop();
          const load = this.#options.persistentLoad;
          if (load === undefined) this.#fail("the pickle holds a persistent id but no persistentLoad was given");
          this.#push(this.#guard("persistentLoad", () => load(pid)));
          break;
        }

        case 0x71: // BINPUT
          this.#memoPut(input.u8());
          break;
        case 0x72: // LONG_BINPUT
          this.#memoPut(input.u32());
          break;
        case 0x70: // PUT
          this.#memoPut(parseIndex(input.line(), () => this.#fail("bad PUT index")));
          break;
        case 0x94: // MEMOIZE
          this.#memoPut(this.#memo.size);
          break;
        case 0x68: // BINGET
          this.#push(this.#memoGet(input.u8()));
          break;
        case 0x6a: // LONG_BINGET
          this.#push(this.#memoGet(input.u32()));
          break;
        case 0x67: // GET
          this.#push(this.#memoGet(parseIndex(input.line(), () => this.#fail("bad GET index"))));
          break;

        case 0x82:
        case 0x83:
        case 0x84:
          this.#fail("extension-registry codes (copyreg.add_extension) are not supported");
        // falls through (unreachable: #fail throws)
        case 0x97:
        case 0x98:
          this.#fail("out-of-band buffers (protocol 5 with buffer_callback) are not supported");
        // falls through
        default:
          this.#fail(
            OPCODE_NAMES[op] === undefined
              ? "unknown opcode (not a pickle, or corrupt data)"
              : "this protocol 0/1 opcode is not supported: re-pickle with protocol 2 or newer",
          );
      }
    }
  }
}

function parseIndex(text: string, fail: () => never): number {
  if (!/^\d+$/.test(text)) fail();
  return Number(text);
}
