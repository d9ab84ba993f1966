// Reads the arguments of pickle opcodes from the input: little-endian integers and lengths, byte strings, UTF-8
// text, protocol 0's newline-ended text, and Python's two's-complement longs. Every bounds or encoding problem
// goes to the unpickler's `fail`, which names the opcode and where it started.

const utf8 = new TextDecoder("utf-8", { fatal: true });

// Python's latin-1 (byte b is U+00b); TextDecoder's "latin1" is windows-1252, which differs at 0x80-0x9f
export function latin1(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

/** A Python int as a number where it is exact, as a bigint beyond 2^53. */
export function narrow(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

export class ByteReader {
  readonly #data: Uint8Array;
  readonly #view: DataView;
  #pos = 0;

  constructor(
    data: Uint8Array,
    readonly fail: (message: string) => never,
  ) {
    this.#data = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** The offset of the next byte to read. */
  get pos(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.#data.length - this.#pos;
  }

  #need(n: number): number {
    if (n > this.remaining) this.fail(`truncated data: needs ${n} more bytes, ${this.remaining} are left`);
    const at = this.#pos;
    this.#pos += n;
    return at;
  }

  u8(): number {
    return this.#data[this.#need(1)]!;
  }
  u16(): number {
    return this.#view.getUint16(this.#need(2), true);
  }
  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }
  i32(): number {
    return this.#view.getInt32(this.#need(4), true);
  }
  u64(): number {
    const v = this.#view.getBigUint64(this.#need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }
  /** A big-endian float64 (BINFLOAT). */
  f64(): number {
    return this.#view.getFloat64(this.#need(8), false);
  }
  bytes(n: number): Uint8Array {
    const at = this.#need(n);
    // a plain Uint8Array view, even when the input is a Buffer (whose slice() would not copy)
    return new Uint8Array(this.#data.buffer, this.#data.byteOffset + at, n);
  }
  text(n: number): string {
    const bytes = this.bytes(n);
    try {
      return utf8.decode(bytes);
    } catch {
      this.fail("invalid UTF-8 in a string");
    }
  }
  line(): string {
    const end = this.#data.indexOf(0x0a, this.#pos);
    if (end < 0) this.fail("truncated data: a text argument has no terminating newline");
    const text = latin1(this.#data.subarray(this.#pos, end));
    this.#pos = end + 1;
    return text;
  }
  /** A little-endian two's-complement integer of `n` bytes (LONG1, LONG4). */
  long(n: number): number | bigint {
    const bytes = this.bytes(n);
    if (bytes.length === 0) return 0;
    let v = 0n;
    for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
    if (bytes[bytes.length - 1]! & 0x80) v -= 1n << BigInt(8 * bytes.length);
    return narrow(v);
  }
}
