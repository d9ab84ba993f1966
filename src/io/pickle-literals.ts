// The pickle opcodes that push one new value made from their own arguments alone (constants, numbers, strings,
// bytes, empty containers), as a table from opcode to reader. They touch neither the stack nor the memo, so the
// unpickler (pickle.ts) pushes what the reader returns.
import { latin1, narrow, type ByteReader } from "./pickle-bytes.js";
import type { PickleOptions } from "./pickle-values.js";

type LiteralReader = (input: ByteReader, options: PickleOptions) => unknown;

function parseTextInt(text: string, fail: () => never): number | bigint {
  if (!/^[+-]?\d+$/.test(text.trim())) fail();
  return narrow(BigInt(text.trim()));
}

function length(input: ByteReader, n: number): number {
  if (n < 0) input.fail("negative length");
  return n;
}

export const LITERALS: Readonly<Record<number, LiteralReader>> = {
  0x4e: () => null, // NONE
  0x88: () => true, // NEWTRUE
  0x89: () => false, // NEWFALSE
  0x4a: (input) => input.i32(), // BININT
  0x4b: (input) => input.u8(), // BININT1
  0x4d: (input) => input.u16(), // BININT2
  0x8a: (input) => input.long(input.u8()), // LONG1
  0x8b: (input) => input.long(length(input, input.i32())), // LONG4
  0x47: (input) => input.f64(), // BINFLOAT (big-endian)
  0x49: (input) => {
    // INT (text); "00"/"01" are protocol 0's False/True
    const text = input.line();
    if (text === "00" || text === "01") return text === "01";
    return parseTextInt(text, () => input.fail(`bad INT argument ${JSON.stringify(text)}`));
  },
  0x4c: (input) => {
    // LONG (text)
    const text = input.line().replace(/L$/, "");
    return parseTextInt(text, () => input.fail(`bad LONG argument ${JSON.stringify(text)}`));
  },
  0x46: (input) => {
    // FLOAT (text)
    const text = input.line();
    const v = Number(text);
    if (text.trim() === "" || (Number.isNaN(v) && !/nan/i.test(text))) input.fail(`bad FLOAT ${text}`);
    return v;
  },

  0x58: (input) => input.text(input.u32()), // BINUNICODE
  0x8c: (input) => input.text(input.u8()), // SHORT_BINUNICODE
  0x8d: (input) => input.text(input.u64()), // BINUNICODE8
  0x54: (input, options) => py2String(input.bytes(length(input, input.i32())), options), // BINSTRING
  0x55: (input, options) => py2String(input.bytes(input.u8()), options), // SHORT_BINSTRING
  0x42: (input) => input.bytes(input.u32()), // BINBYTES
  0x43: (input) => input.bytes(input.u8()), // SHORT_BINBYTES
  0x8e: (input) => input.bytes(input.u64()), // BINBYTES8
  0x96: (input) => new Uint8Array(input.bytes(input.u64())), // BYTEARRAY8

  0x29: () => Object.freeze([]), // EMPTY_TUPLE
  0x5d: () => [], // EMPTY_LIST
  0x7d: () => new Map(), // EMPTY_DICT
  0x8f: () => new Set(), // EMPTY_SET
};

function py2String(raw: Uint8Array, options: PickleOptions): Uint8Array | string {
  return options.py2Strings === "latin1" ? latin1(raw) : raw;
}
