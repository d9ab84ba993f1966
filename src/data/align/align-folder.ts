// A folder of raw photos to aligned face crops: a folder of JPEGs (mirroring the input tree) or a RecordIO pack,
// plus a JSON-lines report with one record per photo. Photos stream from the listing through a bounded queue
// (at most two per worker in flight), so memory stays flat for folders of any size, and results are written in
// listing order whatever the number of workers.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { open, rename, type FileHandle } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { DataError } from "../errors.js";
import { propertyPathFor } from "../recordio/property.js";
import { RecWriter } from "../recordio/rec-writer.js";
import { alignFile, type AlignedFile } from "./align-file.js";
import type { AlignPhotoOptions, AlignSkip, SkipReason } from "./align-photo.js";
import type { AlignWorkerReply, AlignWorkerSetup } from "./align-worker.js";
import type { FaceDetector } from "./detector.js";
import { faceApiDetector, type FaceApiOptions } from "./face-api.js";
import { listIdentities, listPhotos, type PhotoEntry } from "./list-photos.js";

export interface AlignFolderOptions extends AlignPhotoOptions {
  /** One subfolder per identity (labels by subfolder), or unlabeled (default). */
  labeled?: boolean;
  /**
   * Labeled: every subfolder keeps its label (its index in name order), also one none of whose photos gave a face,
   * and a pack declares them all, in the idx-only layout; so the identity count is known before aligning. Default:
   * dense labels over the identities with faces, in insightface's header layout.
   */
  keepAllIdentities?: boolean;
  /** Worker threads (default 1); 0 aligns in the calling thread. */
  workers?: number;
  /** The detector for workers: 0 (default: face-api's); worker threads always load face-api's. */
  detector?: FaceDetector;
  detectorOptions?: FaceApiOptions;
  /** Called after each photo is written, with the photos listed so far (the total grows while listing). */
  onProgress?: (done: number, listed: number) => void;
}

/** One line of the report: a photo, the crops written from it and every face or photo left out. */
export interface AlignRecord {
  file: string;
  /** Faces the detector found. */
  detected: number;
  /** Crops written. */
  faces: number;
  skipped: AlignSkip[];
}

export interface AlignSummary {
  photos: number;
  /** Photos with at least one crop written. */
  photosWithFaces: number;
  faces: number;
  /** Faces or photos left out, by reason. */
  skipped: Partial<Record<SkipReason, number>>;
  /** Identities with at least one crop (labeled), else null. */
  identities: number | null;
  /** Labeled: the identities none of whose photos gave a crop. */
  identitiesWithoutFaces: string[];
  output: string;
  report: string;
}

/** One line for people: photos, faces, identities without a face, skips by reason, where it all went. */
export function formatAlignSummary(s: AlignSummary): string {
  const skips = Object.entries(s.skipped).map(([reason, n]) => `${n} ${reason}`);
  return (
    `${s.photos} photos, ${s.faces} faces aligned from ${s.photosWithFaces} photos` +
    (s.identities !== null ? ` (${s.identities} identities)` : "") +
    (s.identitiesWithoutFaces.length > 0 ? `; identities without a face: ${namesText(s.identitiesWithoutFaces)}` : "") +
    (skips.length > 0 ? `; skipped: ${skips.join(", ")}` : "; nothing skipped") +
    ` -> ${s.output} (report: ${s.report})`
  );
}

/** `a, b, c and 4 more`. */
function namesText(names: readonly string[], shown = 5): string {
  const more = names.length - shown;
  return names.slice(0, shown).join(", ") + (more > 0 ? ` and ${more} more` : "");
}

/** The report's path: beside a .rec pack, inside a crop folder. */
export function alignReportPath(out: string): string {
  return out.endsWith(".rec") ? out.slice(0, -4) + ".align.jsonl" : join(out, "align-report.jsonl");
}

/** Aligns every photo under `input` into `out` (a folder, or a pack when it ends in .rec). */
export async function alignFolder(input: string, out: string, options: AlignFolderOptions = {}): Promise<AlignSummary> {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`alignFolder: workers ${workers} is not >= 0`);
  const photo: AlignPhotoOptions = {
    ...(options.size !== undefined ? { size: options.size } : {}),
    ...(options.minFace !== undefined ? { minFace: options.minFace } : {}),
    ...(options.maxFaces !== undefined ? { maxFaces: options.maxFaces } : {}),
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
  };
  const runner =
    workers === 0
      ? mainThreadRunner(options.detector ?? (await faceApiDetector(options.detectorOptions)), photo)
      : workerRunner(workers, { photo, detector: options.detectorOptions ?? {} });
  const labeled = options.labeled ?? false;
  if (out.endsWith(".rec") && !labeled && existsSync(propertyPathFor(out))) {
    // readers take a folder's `property` for every pack in it
    throw new DataError(
      `${propertyPathFor(out)} describes a labeled pack in that folder, and an unlabeled pack beside it would be ` +
        `read with its identity count: write ${basename(out)} into a folder of its own`,
    );
  }
  const allIdentities = labeled && options.keepAllIdentities ? await listIdentities(input) : null;
  const sink = new CropSink(out, options.size ?? 112, labeled, allIdentities);
  const reportPath = alignReportPath(out);
  mkdirSync(dirname(reportPath), { recursive: true });
  const report = await open(reportPath + ".partial", "w");
  const summary: AlignSummary = {
    ...{ photos: 0, photosWithFaces: 0, faces: 0, skipped: {}, identities: null, identitiesWithoutFaces: [] },
    ...{ output: out, report: reportPath },
  };
  // a failure of the machinery (not of a photo) is kept and rethrown in order, never left unhandled
  const pending: Promise<[PhotoEntry, AlignedFile | Error]>[] = [];
  let listed = 0;
  const writeNext = async (): Promise<void> => {
    const [entry, result] = await pending.shift()!;
    if (result instanceof Error) throw result;
    await record(entry, result, sink, report, summary);
    options.onProgress?.(summary.photos, listed);
  };
  try {
    for await (const entry of listPhotos(input, labeled)) {
      listed++;
      const job = runner.run(entry.path).then(
        (result): [PhotoEntry, AlignedFile] => [entry, result],
        (error: unknown): [PhotoEntry, Error] => [entry, error instanceof Error ? error : new Error(String(error))],
      );
      pending.push(job);
      if (pending.length >= 2 * Math.max(1, workers)) await writeNext();
    }
    while (pending.length > 0) await writeNext();
    summary.identities = sink.close();
    summary.identitiesWithoutFaces = sink.identitiesWithoutFaces();
    await report.close();
    await rename(reportPath + ".partial", reportPath);
    return summary;
  } catch (error) {
    await Promise.allSettled(pending);
    sink.abort();
    await report.close();
    throw error;
  } finally {
    await runner.close();
  }
}

async function record(
  entry: PhotoEntry,
  result: AlignedFile,
  sink: CropSink,
  report: FileHandle,
  summary: AlignSummary,
): Promise<void> {
  sink.listed(entry);
  result.crops.forEach((crop, k) => sink.add(entry, k, crop));
  summary.photos++;
  summary.faces += result.crops.length;
  if (result.crops.length > 0) summary.photosWithFaces++;
  for (const skip of result.skipped) summary.skipped[skip.reason] = (summary.skipped[skip.reason] ?? 0) + 1;
  const line: AlignRecord = {
    file: entry.relative,
    detected: result.detected,
    faces: result.crops.length,
    skipped: result.skipped,
  };
  await report.write(JSON.stringify(line) + "\n");
}

/** Writes crops as `<relative dir>/<photo name>_<k>.jpg` under a folder, or into a pack. */
class CropSink {
  readonly #out: string;
  readonly #size: number;
  readonly #labeled: boolean;
  readonly #declared: readonly string[] | null;
  readonly #declaredIndex: ReadonlyMap<string, number>;
  #writer: RecWriter | null = null;
  // dense labels in listing order as each identity's first crop arrives (the header layout wants them so), or
  // every declared identity's index
  readonly #labels = new Map<string, number>();
  // the identities seen while listing, with or without crops
  readonly #listed = new Set<string>();

  constructor(out: string, size: number, labeled: boolean, declared: readonly string[] | null) {
    this.#out = out;
    this.#size = size;
    this.#labeled = labeled;
    this.#declared = declared;
    this.#declaredIndex = new Map((declared ?? []).map((identity, i) => [identity, i]));
  }

  add(entry: PhotoEntry, k: number, crop: Uint8Array): void {
    const label = this.#labeled ? this.#label(entry.identity!) : -1;
    if (this.#out.endsWith(".rec")) {
      this.#writer ??= new RecWriter(this.#out, {
        imageSize: [this.#size, this.#size],
        ...(!this.#labeled
          ? { layout: "idx-only" }
          : this.#declared !== null
            ? { layout: "idx-only", numClasses: this.#declared.length }
            : { layout: "header" }),
      });
      this.#writer.add(crop, label);
      return;
    }
    const stem = basename(entry.relative, extname(entry.relative));
    const path = join(this.#out, dirname(entry.relative), `${stem}_${k}.jpg`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, crop);
  }

  /** Notes a listed photo's identity, whether or not it gave crops. */
  listed(entry: PhotoEntry): void {
    if (entry.identity !== null) this.#listed.add(entry.identity);
  }

  #label(identity: string): number {
    let label = this.#labels.get(identity);
    if (label === undefined) {
      label = this.#declaredIndex.get(identity) ?? this.#labels.size;
      this.#labels.set(identity, label);
    }
    return label;
  }

  /** Finishes a pack; returns the number of identities with crops (labeled) or null. */
  close(): number | null {
    if (this.#out.endsWith(".rec")) {
      if (this.#writer === null) throw new DataError(`${this.#out}: no face was aligned, so no pack was written`);
      this.#writer.close();
    }
    return this.#labeled ? this.#labels.size : null;
  }

  identitiesWithoutFaces(): string[] {
    const all = this.#declared ?? [...this.#listed];
    return all.filter((identity) => !this.#labels.has(identity));
  }

  abort(): void {
    this.#writer?.abort();
  }
}

interface Runner {
  run(path: string): Promise<AlignedFile>;
  close(): Promise<void>;
}

function mainThreadRunner(detector: FaceDetector, photo: AlignPhotoOptions): Runner {
  return { run: (path) => alignFile(path, detector, photo), close: async () => undefined };
}

/** Worker threads, each with its own detector; a job goes to the least busy one. */
function workerRunner(count: number, setup: AlignWorkerSetup): Runner {
  const pool = Array.from({ length: count }, () => ({
    worker: new Worker(new URL("./align-worker.js", import.meta.url), { workerData: setup }),
    waiting: new Map<number, { resolve: (r: AlignedFile) => void; reject: (e: Error) => void }>(),
  }));
  for (const slot of pool) {
    slot.worker.on("message", (reply: AlignWorkerReply) => {
      const waiter = slot.waiting.get(reply.id)!;
      slot.waiting.delete(reply.id);
      if ("error" in reply) waiter.reject(new Error(`an alignment worker failed: ${reply.error}`));
      else waiter.resolve({ crops: reply.crops, detected: reply.detected, skipped: reply.skipped });
    });
    slot.worker.on("error", (error) => {
      for (const waiter of slot.waiting.values()) waiter.reject(error);
      slot.waiting.clear();
    });
  }
  let nextId = 0;
  return {
    run(path) {
      const slot = pool.reduce((a, b) => (b.waiting.size < a.waiting.size ? b : a));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        slot.waiting.set(id, { resolve, reject });
        slot.worker.postMessage({ id, path });
      });
    },
    close: async () => void (await Promise.all(pool.map((slot) => slot.worker.terminate()))),
  };
}
