// The built-in synthetic face dataset, written in the real formats so that every reader is exercised:
//   train/train.rec, train.idx, property   labeled identities (insightface header layout)
//   unlabeled/unlabeled.rec, unlabeled.idx other identities, label -1 (idx-only layout), for feature-only KD
//   pairs.bin                              verification pairs of a third, disjoint set of identities
//   idset/idset.rec, idset.idx             optional: one photo each of further identities, label -1
//   samples.png, synthetic.json            a sample grid and the options that made it
// Everything repeats for a seed: each photo has its own seed derived from (seed, identity, photo).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as torch from "../../torch/index.js";
import { sampleGrid } from "../grid.js";
import { RecDataset } from "../recordio/rec-dataset.js";
import { RecWriter, type RecWriterOptions } from "../recordio/rec-writer.js";
import { deriveSeed, Rng } from "../rng.js";
import { writeVerificationPack } from "../verification/bin-writer.js";
import { identityBasis, makeIdentity, TRAITS, type IdentityOptions } from "./identity.js";
import { drawBatch, finishBatch, type FaceRequest, type RenderOptions } from "./render.js";

export interface SyntheticOptions {
  seed?: number;
  /** Labeled training identities and photos of each (default 1000 x 50). */
  identities?: number;
  imagesPerIdentity?: number;
  /** Unlabeled set: identities (disjoint from the others) and photos of each (default 1000 x 20). */
  unlabeledIdentities?: number;
  unlabeledImagesPerIdentity?: number;
  /** Verification pairs (half genuine, alternating) over `testIdentities` further identities (3000, 500). */
  pairs?: number;
  testIdentities?: number;
  /**
   * Identities of the ID set (default 0: none): one photo each of further identities. On a large training set
   * the ReFO paper's TwoNN sample (1% of MS1MV2) holds about one photo per identity, so that nearest neighbours
   * are mostly other people; a sample of a small D1 holds many photos of each and measures their spread instead.
   */
  idIdentities?: number;
  /** Square image size in pixels (default 112). */
  imageSize?: number;
  /** 0 = identities far apart, 1 = look-alikes (default 0.5). */
  difficulty?: number;
  /**
   * Independent directions in which identities differ (default: the trait count, every trait independent). Fewer
   * ties the traits to a random subspace of this dimension (`identityBasis`).
   */
  identityDims?: number;
  /** Scales pose, light, occlusion, blur, noise and JPEG ranges (default 1). */
  nuisance?: number;
  onProgress?: (stage: "train" | "unlabeled" | "pairs" | "idset", done: number, total: number) => void;
}

export interface SyntheticSummary {
  trainImages: number;
  identities: number;
  unlabeledImages: number;
  pairs: number;
  imageSize: number;
  idImages: number;
  paths: { train: string; unlabeled: string; pairs: string; idSet: string; samples: string; options: string };
}

const BATCH = 64;
const GRID_IDENTITIES = 8;
const GRID_PHOTOS = 8;

type Resolved = Required<Omit<SyntheticOptions, "onProgress">>;

function resolve(options: SyntheticOptions): Resolved {
  const resolved: Resolved = {
    seed: options.seed ?? 0,
    identities: options.identities ?? 1000,
    imagesPerIdentity: options.imagesPerIdentity ?? 50,
    unlabeledIdentities: options.unlabeledIdentities ?? 1000,
    unlabeledImagesPerIdentity: options.unlabeledImagesPerIdentity ?? 20,
    pairs: options.pairs ?? 3000,
    testIdentities: options.testIdentities ?? 500,
    idIdentities: options.idIdentities ?? 0,
    imageSize: options.imageSize ?? 112,
    difficulty: options.difficulty ?? 0.5,
    identityDims: options.identityDims ?? TRAITS.length,
    nuisance: options.nuisance ?? 1,
  };
  for (const [name, value] of Object.entries(resolved)) {
    const ok =
      name === "difficulty"
        ? value >= 0 && value <= 1
        : name === "identityDims"
          ? Number.isInteger(value) && value >= 1 && value <= TRAITS.length
          : Number.isFinite(value) && value >= 0;
    if (!ok) {
      const allowed = name === "identityDims" ? ` (an integer from 1 to ${TRAITS.length})` : "";
      throw new RangeError(`synthetic dataset: option ${name} = ${value} is out of range${allowed}`);
    }
  }
  if (resolved.testIdentities < 2 && resolved.pairs > 0) {
    throw new RangeError("synthetic dataset: impostor pairs need at least 2 test identities");
  }
  return resolved;
}

/** Renders requests in batches, drawing the next batch while the engine finishes the current one. */
async function renderAll(
  requests: readonly FaceRequest[],
  render: RenderOptions,
  noiseSeed: (batch: number) => number,
  consume: (jpegs: Uint8Array[], start: number) => void,
): Promise<void> {
  const batches = Math.ceil(requests.length / BATCH);
  let next = batches > 0 ? drawBatch(requests.slice(0, BATCH), render) : null;
  for (let b = 0; b < batches; b++) {
    const drawn = await next!;
    next = b + 1 < batches ? drawBatch(requests.slice((b + 1) * BATCH, (b + 2) * BATCH), render) : null;
    consume(await finishBatch(drawn, render.size, noiseSeed(b)), b * BATCH);
  }
}

export async function generateSyntheticDataset(
  outDir: string,
  options: SyntheticOptions = {},
): Promise<SyntheticSummary> {
  // libvips rasterizes on its own threads meanwhile; a second intra-op thread would mostly spin-wait (measured:
  // 0.9 ms of CPU per photo for the light and noise with one thread, 4.5 ms with two)
  return torch.withNumThreads(1, () => generate(outDir, resolve(options), options.onProgress));
}

async function generate(
  outDir: string,
  o: Resolved,
  onProgress: SyntheticOptions["onProgress"],
): Promise<SyntheticSummary> {
  const ids: IdentityOptions = {
    seed: o.seed,
    difficulty: o.difficulty,
    basis: identityBasis(o.seed, o.identityDims),
  };
  const render: RenderOptions = { size: o.imageSize, difficulty: o.difficulty, nuisance: o.nuisance };
  const photo = (identity: number, index: number): FaceRequest => ({
    identity: makeIdentity(identity, ids),
    photoSeed: deriveSeed(o.seed, 10, identity, index),
  });
  const paths = {
    train: join(outDir, "train", "train.rec"),
    unlabeled: join(outDir, "unlabeled", "unlabeled.rec"),
    pairs: join(outDir, "pairs.bin"),
    idSet: join(outDir, "idset", "idset.rec"),
    samples: join(outDir, "samples.png"),
    options: join(outDir, "synthetic.json"),
  };
  mkdirSync(join(outDir, "train"), { recursive: true });
  mkdirSync(join(outDir, "unlabeled"), { recursive: true });
  const size: [number, number] = [o.imageSize, o.imageSize];

  // labeled training set: identities 0..identities-1, grouped by label as the header layout needs
  const train: FaceRequest[] = [];
  for (let id = 0; id < o.identities; id++) for (let k = 0; k < o.imagesPerIdentity; k++) train.push(photo(id, k));
  await writePack(
    paths.train,
    { layout: "header", imageSize: size },
    train,
    render,
    (b) => deriveSeed(o.seed, 30, b),
    (i) => Math.floor(i / o.imagesPerIdentity),
    (done) => onProgress?.("train", done, train.length),
  );

  // unlabeled set: the next identities, label -1
  const unlabeled: FaceRequest[] = [];
  for (let j = 0; j < o.unlabeledIdentities; j++) {
    for (let k = 0; k < o.unlabeledImagesPerIdentity; k++) unlabeled.push(photo(o.identities + j, k));
  }
  await writePack(
    paths.unlabeled,
    { layout: "idx-only" },
    unlabeled,
    render,
    (b) => deriveSeed(o.seed, 31, b),
    () => -1,
    (done) => onProgress?.("unlabeled", done, unlabeled.length),
  );

  // verification pairs over the remaining identities, genuine and impostor alternating (every fold balanced)
  const firstTest = o.identities + o.unlabeledIdentities;
  const pairRequests: FaceRequest[] = [];
  const issame: boolean[] = [];
  for (let i = 0; i < o.pairs; i++) {
    const rng = new Rng(deriveSeed(o.seed, 20, i));
    const same = i % 2 === 0;
    const a = rng.int(o.testIdentities);
    const b = same ? a : (a + 1 + rng.int(o.testIdentities - 1)) % o.testIdentities;
    const ka = rng.int(1 << 20);
    const kb = same ? (ka + 1 + rng.int((1 << 20) - 1)) % (1 << 20) : rng.int(1 << 20);
    pairRequests.push(photo(firstTest + a, ka), photo(firstTest + b, kb));
    issame.push(same);
  }
  const pairImages: Uint8Array[] = new Array(pairRequests.length);
  await renderAll(
    pairRequests,
    render,
    (b) => deriveSeed(o.seed, 32, b),
    (jpegs, start) => {
      jpegs.forEach((jpeg, i) => (pairImages[start + i] = jpeg));
      onProgress?.("pairs", start + jpegs.length, pairRequests.length);
    },
  );
  writeVerificationPack(paths.pairs, pairImages, issame);

  // the ID set: one photo of each of the identities after the test identities
  const firstId = firstTest + o.testIdentities;
  const idRequests = Array.from({ length: o.idIdentities }, (_, j) => photo(firstId + j, 0));
  if (idRequests.length > 0) mkdirSync(join(outDir, "idset"), { recursive: true });
  await writePack(
    paths.idSet,
    { layout: "idx-only" },
    idRequests,
    render,
    (b) => deriveSeed(o.seed, 33, b),
    () => -1,
    (done) => onProgress?.("idset", done, idRequests.length),
  );

  if (train.length > 0) writeFileSync(paths.samples, await trainingSamples(paths.train, o));
  writeFileSync(paths.options, JSON.stringify(o, null, 2) + "\n");
  return {
    trainImages: train.length,
    identities: o.identities,
    unlabeledImages: unlabeled.length,
    pairs: o.pairs,
    idImages: idRequests.length,
    imageSize: o.imageSize,
    paths,
  };
}

async function writePack(
  recPath: string,
  writerOptions: RecWriterOptions,
  requests: readonly FaceRequest[],
  render: RenderOptions,
  noiseSeed: (batch: number) => number,
  labelOf: (index: number) => number,
  progress: (done: number) => void,
): Promise<void> {
  if (requests.length === 0) return;
  const writer = new RecWriter(recPath, writerOptions);
  try {
    await renderAll(requests, render, noiseSeed, (jpegs, start) => {
      jpegs.forEach((jpeg, i) => writer.add(jpeg, labelOf(start + i)));
      progress(start + jpegs.length);
    });
    writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** A grid of the first identities (rows) and their first photos, read back from the written pack. */
async function trainingSamples(recPath: string, o: Resolved): Promise<Uint8Array> {
  const pack = RecDataset.open(recPath);
  try {
    const columns = Math.min(GRID_PHOTOS, o.imagesPerIdentity);
    const images: Uint8Array[] = [];
    for (let id = 0; id < Math.min(GRID_IDENTITIES, o.identities); id++) {
      for (let k = 0; k < columns; k++) images.push(pack.read(id * o.imagesPerIdentity + k).image);
    }
    return await sampleGrid(images, columns, o.imageSize);
  } finally {
    pack.close();
  }
}
