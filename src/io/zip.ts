// Reading zip archives (PKWARE's APPNOTE.TXT) strictly: the end record must close the file, the central directory
// must be whole, every local header must agree with its directory entry, and every record read is checked against
// the CRC-32 the archive stores for it, as Python's zipfile does. Only stored and deflated records exist in
// torch.save files; fflate inflates the latter.
import { crc32 } from "node:zlib";
import { inflateSync } from "fflate";

const END = 0x06054b50;
const END64 = 0x06064b50;
const END64_LOCATOR = 0x07064b50;
const DIRECTORY = 0x02014b50;
const LOCAL = 0x04034b50;
const END_BYTES = 22;
const MAX_COMMENT = 0xffff;
const UNSET32 = 0xffffffff;
const ZIP64_EXTRA = 0x0001;

/** A record of a zip archive; read() returns its bytes (a view for stored records) after checking its CRC-32. */
export interface ZipRecord {
  name: string;
  size: number;
  read(): Uint8Array;
}

/** The archive's records by name, in directory order. `source` names the file in errors. */
export function readZip(bytes: Uint8Array, source: string): Map<string, ZipRecord> {
  const fail = (problem: string): never => {
    throw new Error(`${source}: ${problem}: the file is damaged or truncated (re-copy or re-download it)`);
  };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number): number => view.getUint16(at, true);
  const u32 = (at: number): number => view.getUint32(at, true);
  const u64 = (at: number): number => {
    const value = view.getBigUint64(at, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a zip64 field at byte ${at} holds the impossible ${value}`);
    return Number(value);
  };
  const within = (at: number, length: number, what: string): void => {
    if (at < 0 || at + length > bytes.length)
      fail(`${what} (bytes ${at}..${at + length}) lies past the end of the file`);
  };

  // the end record: the last 22 bytes, or earlier when a comment follows it (which must reach the end exactly)
  let end = -1;
  for (let at = bytes.length - END_BYTES; at >= Math.max(0, bytes.length - END_BYTES - MAX_COMMENT); at--) {
    if (u32(at) === END && at + END_BYTES + u16(at + 20) === bytes.length) {
      end = at;
      break;
    }
  }
  if (end < 0) fail("no zip end-of-central-directory record closes the file");
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) fail("the archive spans several disks");
  let count = u16(end + 10);
  let directorySize = u32(end + 12);
  let directoryStart = u32(end + 16);
  let directoryEnd = end;
  if (end >= 20 && u32(end - 20) === END64_LOCATOR) {
    const at = u64(end - 12);
    within(at, 56, "the zip64 end record");
    if (u32(at) !== END64) fail(`no zip64 end record at byte ${at}, where its locator points`);
    // the 32-bit fields hold their value or 0xffff(ffff); the zip64 record holds them all
    const wide = [u64(at + 32), u64(at + 40), u64(at + 48)];
    const narrow = [count, directorySize, directoryStart];
    if (narrow.some((v, k) => v !== (k === 0 ? 0xffff : UNSET32) && v !== wide[k])) {
      fail("the zip64 end record and the end record disagree");
    }
    [count, directorySize, directoryStart] = wide as [number, number, number];
    directoryEnd = at;
  }
  if (directoryStart + directorySize !== directoryEnd) {
    fail(
      `the central directory (bytes ${directoryStart}..${directoryStart + directorySize}) does not end where the end record begins (byte ${directoryEnd})`,
    );
  }

  const records = new Map<string, ZipRecord>();
  const spans: [start: number, end: number, name: string][] = [];
  let at = directoryStart;
  for (let i = 0; i < count; i++) {
    within(at, 46, `directory entry ${i}`);
    if (u32(at) !== DIRECTORY) fail(`directory entry ${i} at byte ${at} has no directory signature`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let packed = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    let offset = u32(at + 42);
    within(at + 46, nameLength + extraLength + u16(at + 32), `directory entry ${i}`);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
    const name = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(nameBytes);
    const where = `record '${name}'`;
    // zip64 extra field: the 64-bit values of the fields set to 0xffffffff, in this order
    const extraEnd = at + 46 + nameLength + extraLength;
    for (let e = at + 46 + nameLength; e + 4 <= extraEnd; e += 4 + u16(e + 2)) {
      if (u16(e) !== ZIP64_EXTRA) continue;
      let v = e + 4;
      const fieldEnd = Math.min(e + 4 + u16(e + 2), extraEnd);
      const next = (): number => {
        if (v + 8 > fieldEnd) fail(`${where}: its zip64 extra field is too short`);
        return u64((v += 8) - 8);
      };
      if (size === UNSET32) size = next();
      if (packed === UNSET32) packed = next();
      if (offset === UNSET32) offset = next();
    }
    if (records.has(name)) fail(`${where} appears twice in the central directory`);
    if (flags & 0x1) fail(`${where} is encrypted`);
    if (method !== 0 && method !== 8)
      fail(`${where} uses compression method ${method} (only stored and deflate exist here)`);
    if (method === 0 && packed !== size) fail(`${where} is stored but holds ${packed} bytes for ${size}`);
    within(offset, 30, `the local header of ${where}`);
    if (u32(offset) !== LOCAL) fail(`${where}: no local header at byte ${offset}`);
    const localName = bytes.subarray(offset + 30, offset + 30 + u16(offset + 26));
    if (u16(offset + 8) !== method || Buffer.compare(localName, nameBytes) !== 0) {
      fail(`${where}: its local header at byte ${offset} disagrees with the central directory`);
    }
    const start = offset + 30 + u16(offset + 26) + u16(offset + 28);
    if (start + packed > directoryStart)
      fail(`${where} (bytes ${start}..${start + packed}) runs into the central directory`);
    spans.push([offset, start + packed, name]);
    const data = bytes.subarray(start, start + packed);
    records.set(name, {
      name,
      size,
      read: () => {
        const out =
          method === 0 ? data : inflateRecord(data, size, () => fail(`${where} does not inflate to ${size} bytes`));
        if (crc32(out) !== crc) fail(`${where} fails its CRC-32 check`);
        return out;
      },
    });
    at += 46 + nameLength + extraLength + u16(at + 32);
  }
  if (at !== directoryEnd) fail(`the central directory lists ${count} records but does not end after them`);
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) fail(`record '${spans[i]![2]}' overlaps record '${spans[i - 1]![2]}'`);
  }
  return records;
}

function inflateRecord(data: Uint8Array, size: number, fail: () => never): Uint8Array {
  let out: Uint8Array;
  try {
    out = inflateSync(data, { out: new Uint8Array(size) });
  } catch {
    return fail();
  }
  return out.length === size ? out : fail();
}
