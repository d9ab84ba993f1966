// Seeded damage to every file format facekd reads: bit flips, byte runs, truncation, extension, and edits aimed at
// each format's header (digits of text headers included). A damaged file must either give an error naming the file
// or read back exactly what the clean file gives, except where the format itself has no checksum over the bytes
// that changed (said per format below). Where a checksum exists (the zip CRC-32 of .pth records, facekd's safetensors
// checksum) no value may change. FACEKD_FUZZ_CASES (300) sets the cases per format, FACEKD_FUZZ_SEED (0) the seeds.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as torch from "../../src/torch/index.js";
import { loadSafetensors, loadTorchFile, readNpy, saveSafetensors } from "../../src/io/index.js";

import { RecDataset, readVerificationPack } from "../../src/data/index.js";
import { Rng } from "../../src/data/rng.js";
import { tempDir } from "../data/helpers.js";

const CASES = Number(process.env["FACEKD_FUZZ_CASES"] ?? 300);
const SEED = Number(process.env["FACEKD_FUZZ_SEED"] ?? 0);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const fixture = (...parts: string[]): string => path.join(root, "test", "fixtures", ...parts);
const dir = tempDir("fuzz");

/** A damaged copy of `clean`; the bytes of `clean` in [from, to) changed (to = from = size for an extension). */
interface Damage {
  bytes: Buffer;
  kind: string;
  from: number;
  to: number;
}

/**
 * One seeded mutation of `clean`. `header` is the byte range of the format's header, where the header edits go;
 * `text` says the header is text, so that changing one of its digits for another is one of the edits.
 */
function mutate(clean: Buffer, rng: Rng, header: [number, number], text: boolean): Damage {
  const bytes = Buffer.from(clean);
  const size = clean.length;
  const kinds = ["flip", "run", "truncate", "extend", "header flip", "header run", ...(text ? ["digit"] : [])];
  const kind = rng.pick(kinds);
  const inHeader = kind.startsWith("header") || kind === "digit";
  const [lo, hi] = inHeader ? header : [0, size];
  const at = lo + rng.int(hi - lo);
  switch (kind) {
    case "flip":
    case "header flip":
      bytes[at] = bytes[at]! ^ (1 << rng.int(8));
      return { bytes, kind, from: at, to: at + 1 };
    case "run":
    case "header run": {
      const length = Math.min(1 + rng.int(16), size - at);
      for (let i = 0; i < length; i++) bytes[at + i] = rng.int(256);
      return { bytes, kind, from: at, to: at + length };
    }
    case "truncate": {
      const cut = rng.int(size);
      return { bytes: bytes.subarray(0, cut), kind, from: cut, to: size };
    }
    case "extend": {
      const extra = Buffer.from(Array.from({ length: 1 + rng.int(64) }, () => (rng.bool() ? 0 : rng.int(256))));
      return { bytes: Buffer.concat([bytes, extra]), kind, from: size, to: size };
    }
    default: {
      const digits = [...clean.subarray(lo, hi).entries()].filter(([, b]) => b >= 0x30 && b <= 0x39);
      if (digits.length === 0) return mutate(clean, rng, header, false);
      const [i, digit] = rng.pick(digits);
      bytes[lo + i] = 0x30 + ((digit - 0x30 + 1 + rng.int(9)) % 10);
      return { bytes, kind, from: lo + i, to: lo + i + 1 };
    }
  }
}

const overlaps = (d: Damage, start: number, end: number): boolean => d.from < end && start < Math.max(d.to, d.from + 1);

/** What the cases of one format ended as: each must be an error naming the file, the same read, or a difference
 * the format cannot detect (counted apart). */
class Outcomes {
  errors = 0;
  same = 0;
  undetectable = 0;

  /** Runs `read`, and `compare` on its result; an error must be an Error whose message names one of `files`. */
  check<T>(damage: Damage, files: string[], read: () => T, compare: (got: T) => "same" | "undetectable"): void {
    let got: T;
    try {
      got = read();
    } catch (error) {
      assert.ok(error instanceof Error, `${damage.kind}: threw a ${typeof error}`);
      assert.ok(
        files.some((f) => error.message.includes(f)),
        `${damage.kind} at ${damage.from}..${damage.to}: the error does not name the file: ${error.message}`,
      );
      this.errors++;
      return;
    }
    if (compare(got) === "same") this.same++;
    else this.undetectable++;
  }

  /** Errors and reads must both occur, or the cases tested nothing. Returns the counts, for the diagnostics. */
  assertMixed(label: string): string {
    const counts = `${label}: ${this.errors} errors, ${this.same} identical reads, ${this.undetectable} undetectable`;
    assert.equal(this.errors + this.same + this.undetectable, CASES, counts);
    assert.ok(this.errors > 0 && this.same + this.undetectable > 0, counts);
    return counts;
  }
}

interface TensorRecord {
  dtype: string;
  shape: number[];
  bytes: Buffer;
}

const record = (t: torch.Tensor): TensorRecord => {
  const data = t.data();
  return { dtype: t.dtype, shape: t.shape, bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
};

const records = (tensors: Map<string, torch.Tensor>): Map<string, TensorRecord> =>
  new Map([...tensors].map(([k, t]) => [k, record(t)]));

describe("fuzz: damaged files are errors naming the file, or read back as the clean file does", () => {
  test(".npy: the header, shape and size are checked; element bytes have no checksum", (t) => {
    const outcomes = new Outcomes();
    const rng = new Rng(SEED + 13);
    // (not empty arrays: with no data, nothing can tell a damaged (0, 4) from (0, 5))
    const names = ["f4_v1.npy", "f8_v2.npy", "i8_v3.npy", "b1.npy", "../mbf_embedding.npy"];
    const cleans = names.map((name) => {
      const bytes = readFileSync(fixture("npy", name));
      const dataStart = bytes.indexOf(0x0a) + 1;
      return { bytes, dataStart, read: torch.tidy(() => record(readNpy(fixture("npy", name)))) };
    });
    const file = path.join(dir, "damaged.npy");
    for (let i = 0; i < CASES; i++) {
      const clean = rng.pick(cleans);
      const damage = mutate(clean.bytes, rng, [0, clean.dataStart], true);
      writeFileSync(file, damage.bytes);
      outcomes.check(
        damage,
        [file],
        () => torch.tidy(() => record(readNpy(file))),
        (got) => {
          assert.equal(got.dtype, clean.read.dtype, damage.kind);
          assert.deepEqual(got.shape, clean.read.shape, damage.kind);
          if (got.bytes.equals(clean.read.bytes)) return "same";
          // only the elements inside the damaged bytes may differ (.npy has no checksum)
          const itemBytes =
            got.bytes.length /
            Math.max(
              1,
              got.shape.reduce((a, b) => a * b, 1),
            );
          for (let b = 0; b < got.bytes.length; b++) {
            if (got.bytes[b] === clean.read.bytes[b]) continue;
            const element = clean.dataStart + b - (b % itemBytes);
            assert.ok(overlaps(damage, element, element + itemBytes), `${damage.kind}: byte ${b} changed`);
          }
          return "undetectable";
        },
      );
    }
    t.diagnostic(outcomes.assertMixed(".npy"));
  });

  test("safetensors written by facekd: the checksum leaves no change undetected", (t) => {
    const outcomes = new Outcomes();
    const rng = new Rng(SEED + 17);
    const source = path.join(dir, "clean.safetensors");
    torch.tidy(() =>
      saveSafetensors(
        source,
        {
          "conv.weight": torch.randn([4, 3, 3, 3]),
          "bn.num_batches_tracked": torch.tensor(new BigInt64Array([12n]), { shape: [] }),
          "head.half": torch.randn([5]).to({ dtype: "float16" }),
          mask: torch.tensor(new Uint8Array([1, 0, 1]), { dtype: "bool" }),
        },
        { "facekd.model": "mbf", note: "fuzz" },
      ),
    );
    const bytes = readFileSync(source);
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    const clean = torch.tidy(() => {
      const { tensors, metadata, checksum } = loadSafetensors(source);
      return { tensors: records(tensors), metadata, checksum: checksum! };
    });
    const file = path.join(dir, "damaged.safetensors");
    for (let i = 0; i < CASES; i++) {
      const damage = mutate(bytes, rng, [0, headerEnd], true);
      writeFileSync(file, damage.bytes);
      outcomes.check(
        damage,
        [file],
        () =>
          torch.tidy(() => {
            const { tensors, metadata, checksum } = loadSafetensors(file);
            return { tensors: records(tensors), metadata, checksum };
          }),
        (got) => {
          assert.deepEqual(got.tensors, clean.tensors, damage.kind);
          if (got.checksum !== undefined) {
            assert.deepEqual(got.metadata, clean.metadata, damage.kind);
            return "same";
          }
          // the one change a checksum cannot see is damage to its own key's name: the file then reads as one
          // written by others, its values unchanged (asserted above), the damaged key among the metadata
          const renamed = Object.entries(got.metadata).filter(([, v]) => v === clean.checksum);
          assert.equal(renamed.length, 1, `${damage.kind}: the checksum vanished without its key being damaged`);
          const others = Object.fromEntries(Object.entries(got.metadata).filter(([, v]) => v !== clean.checksum));
          assert.deepEqual(others, clean.metadata, damage.kind);
          return "same";
        },
      );
    }
    t.diagnostic(outcomes.assertMixed("safetensors"));
    assert.equal(outcomes.undetectable, 0);
  });

  test(".pth (torch.save zip): the CRC-32 of every record read leaves no value changed silently", (t) => {
    const outcomes = new Outcomes();
    const rng = new Rng(SEED + 19);
    const source = fixture("torch_mixed.pt");
    const bytes = readFileSync(source);
    const clean = torch.tidy(() => records(loadTorchFile(source)));
    // the header edits go to the pickle and the central directory
    const directory = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const file = path.join(dir, "damaged.pth");
    for (let i = 0; i < CASES; i++) {
      const header: [number, number] = rng.bool()
        ? [0, bytes.indexOf("torch_mixed/data/0")]
        : [directory, bytes.length];
      const damage = mutate(bytes, rng, header, false);
      writeFileSync(file, damage.bytes);
      outcomes.check(
        damage,
        [file],
        () => torch.tidy(() => records(loadTorchFile(file))),
        (got) => {
          assert.deepEqual(got, clean, damage.kind);
          return "same";
        },
      );
    }
    t.diagnostic(outcomes.assertMixed(".pth"));
    assert.equal(outcomes.undetectable, 0);
  });

  test("RecordIO (.rec, .idx, property): structure and labels are checked; JPEG data has no checksum", (t) => {
    const outcomes = new Outcomes();
    const rng = new Rng(SEED + 23);
    const names = ["train.rec", "train.idx", "property"] as const;
    const cleanBytes = new Map(names.map((n) => [n, readFileSync(fixture("insightface", n))]));
    const readPack = (rec: string): PackRead => {
      const pack = RecDataset.open(rec);
      try {
        const samples = Array.from({ length: pack.length }, (_, p) => pack.read(p));
        return { numClasses: pack.numClasses, imageSize: pack.imageSize, layout: pack.layout, samples };
      } finally {
        pack.close();
      }
    };
    const clean = readPack(fixture("insightface", "train.rec"));
    // where each record lies in the clean .rec: its length field at +4, its JPEG bytes after the 8-byte record
    // head and the 24-byte IRHeader
    const recBytes = cleanBytes.get("train.rec")!;
    const recordAt = new Map<number, number>();
    for (const line of cleanBytes.get("train.idx")!.toString().trim().split("\n")) {
      const [key, offset] = line.split("\t").map(Number) as [number, number];
      recordAt.set(key, offset);
    }
    const folder = path.join(dir, "pack");
    mkdirSync(folder);
    const files = names.map((n) => path.join(folder, n));
    for (let i = 0; i < CASES; i++) {
      // more .rec and .idx cases than property ones
      const target = rng.pick<(typeof names)[number]>([...names, "train.rec", "train.idx"]);
      const bytes = cleanBytes.get(target)!;
      const damage = mutate(bytes, rng, target === "train.rec" ? [0, 40] : [0, bytes.length], target !== "train.rec");
      writeAll(folder, cleanBytes);
      writeFileSync(path.join(folder, target), damage.bytes);
      outcomes.check(
        damage,
        files,
        () => readPack(files[0]!),
        (got) => {
          assert.equal(got.numClasses, clean.numClasses, `${target} ${damage.kind}`);
          assert.deepEqual(got.imageSize, clean.imageSize, `${target} ${damage.kind}`);
          assert.equal(got.layout, clean.layout, `${target} ${damage.kind}`);
          assert.deepEqual(
            got.samples.map((s) => [s.key, s.label]),
            clean.samples.map((s) => [s.key, s.label]),
            `${target} ${damage.kind}`,
          );
          let same = true;
          got.samples.forEach((s, p) => {
            if (Buffer.from(s.image).equals(Buffer.from(clean.samples[p]!.image))) return;
            const offset = recordAt.get(s.key as number)!;
            const cleanImage = Buffer.from(clean.samples[p]!.image);
            const end = offset + 8 + (recBytes.readUInt32LE(offset + 4) & 0x1fffffff);
            same = false;
            if (target !== "train.rec") assert.fail(`${target} ${damage.kind}: the image of key ${s.key} changed`);
            if (overlaps(damage, offset + 8 + 24, end)) return; // inside the JPEG bytes: no checksum covers them
            // a length grown into the record's zero padding adds zero bytes after the JPEG's end, which decodes
            // the same: the one length damage that reading cannot see
            const extra = Buffer.from(s.image).subarray(cleanImage.length);
            assert.ok(
              overlaps(damage, offset + 4, offset + 8) &&
                Buffer.from(s.image).subarray(0, cleanImage.length).equals(cleanImage) &&
                extra.length < 4 &&
                extra.every((b) => b === 0),
              `${target} ${damage.kind} at ${damage.from}: the image of key ${s.key} changed outside its JPEG bytes`,
            );
          });
          return same ? "same" : "undetectable";
        },
      );
    }
    t.diagnostic(outcomes.assertMixed("RecordIO"));
  });

  test(".bin verification packs: the pickle's structure is checked; image bytes and flags have no checksum", (t) => {
    const outcomes = new Outcomes();
    const rng = new Rng(SEED + 29);
    const cleans = ["pairs_py2.bin", "pairs_py3.bin", "pairs_numpy.bin"].map((name) => {
      const bytes = readFileSync(fixture("insightface", name));
      const pack = readVerificationPack(fixture("insightface", name));
      // an image's bytes with the opcode and length (at most 9 bytes) that the pickle puts before them
      const spans = pack.images.map((image) => {
        const start = bytes.indexOf(Buffer.from(image));
        return [start - 9, start + image.length] as const;
      });
      return { bytes, pack, spans };
    });
    const file = path.join(dir, "damaged.bin");
    for (let i = 0; i < CASES; i++) {
      const clean = rng.pick(cleans);
      const damage = mutate(clean.bytes, rng, [0, clean.spans[0]![0] + 9], false);
      writeFileSync(file, damage.bytes);
      outcomes.check(
        damage,
        [file],
        () => readVerificationPack(file),
        (got) => {
          assert.equal(got.images.length, clean.pack.images.length, damage.kind);
          let same = true;
          if (got.issame.join() !== clean.pack.issame.join()) {
            // the flags follow the images: a flipped NEWTRUE/NEWFALSE opcode or numpy bool byte passes unseen
            assert.ok(damage.from >= clean.spans.at(-1)![1], `${damage.kind} at ${damage.from}: a flag changed`);
            same = false;
          }
          got.images.forEach((image, k) => {
            if (Buffer.from(image).equals(Buffer.from(clean.pack.images[k]!))) return;
            assert.ok(overlaps(damage, ...clean.spans[k]!), `${damage.kind} at ${damage.from}: image ${k} changed`);
            same = false;
          });
          return same ? "same" : "undetectable";
        },
      );
    }
    t.diagnostic(outcomes.assertMixed(".bin"));
  });
});

interface PackRead {
  numClasses: number | null;
  imageSize: readonly [number, number] | null;
  layout: string;
  samples: { key: number | string; label: number; image: Uint8Array }[];
}

function writeAll(folder: string, files: Map<string, Buffer>): void {
  for (const [name, bytes] of files) writeFileSync(path.join(folder, name), bytes);
}
