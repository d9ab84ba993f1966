// The training data loader: seeded shuffling per epoch, batching, drop-last, random horizontal flips, and worker
// threads that read and decode batches ahead of the trainer. Its position (epoch, index) goes into checkpoints:
// a loader created with a saved position yields exactly the batches that were still to come.
import { Worker } from "node:worker_threads";
import * as torch from "../../torch/index.js";
import { CorruptRecordError, DataError, SkipCounter, type CorruptPolicy } from "../errors.js";
import type { FaceSource } from "../source.js";
import { imagesToTensor, type BatchLayout } from "../transforms.js";
import { loadSamples, type DecodeSettings, type LoadedSamples, type SampleRequest } from "./load-samples.js";
import { planEpoch, type EpochPlan, type LoaderPosition } from "./plan.js";
import type { WorkerReply, WorkerSetup } from "./worker.js";

export interface LoaderOptions extends CorruptPolicy {
  batchSize: number;
  /** Model input [height, width]; images of another size are resized. Default [112, 112]. */
  imageSize?: readonly [number, number];
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Fixes the order and flips of every epoch (default 0). */
  seed?: number;
  /** Leave out the last, smaller batch of each epoch (default true, as arcface_torch). */
  dropLast?: boolean;
  /** Mirror each image with probability 1/2 (default true). */
  flip?: boolean;
  /** Decoding threads (default 2); 0 decodes in the calling thread. */
  workers?: number;
  /** Batches requested ahead of the one being consumed (default 2 per worker, at least 2). */
  prefetch?: number;
  /** Memory layout of the image batches (default "channels_last"). */
  layout?: BatchLayout;
  /**
   * Decode every image with libjpeg's strict checks (sharp, failOn warning) instead of the fast JPEG decoder, which
   * decodes damaged scan data without an error (default false). About 3x the loader's CPU per 112x112 JPEG (1,208
   * against 4,837 img/s on 2 idle cores); checking a pack once with `facekd data verify` catches the same records.
   */
  strictDecode?: boolean;
  /** Require identity labels (default false): a dataset that has none is an error. */
  labeled?: boolean;
  /** Resume here (default: epoch 0, index 0). */
  position?: LoaderPosition;
  /**
   * This process's part of each batch in data-parallel runs: the epoch's order is cut into global batches of
   * batchSize x worldSize samples and rank r takes the r-th run of batchSize in each, so N ranks of batch B see
   * together what one process of batch N x B sees. Positions count global samples, whatever the world size. With
   * dropLast: false a rank's part of the last global batch may be short or empty (inference only).
   */
  shard?: { rank: number; worldSize: number };
}

export interface Batch extends Disposable {
  /** [n, 3, height, width] float32, (x - 127.5) / 127.5. */
  images: torch.Tensor;
  /** [n] int64 identity labels (-1 for unlabeled data). */
  labels: torch.Tensor;
  /** [n] int64 dataset positions of the samples (rows of embeddings precomputed in dataset order). */
  indices: torch.Tensor;
  /** The loader's position after this batch: save it with a checkpoint to resume after this batch. */
  position: LoaderPosition;
}

interface Pending {
  resolve: (loaded: LoadedSamples) => void;
  reject: (error: Error) => void;
}

interface LoaderWorker {
  worker: Worker;
  inFlight: Map<number, Pending>;
  /** Why the thread stopped, once it has. */
  failure: Error | null;
}

export class FaceLoader {
  readonly source: FaceSource;
  readonly #batchSize: number;
  readonly #shuffle: boolean;
  readonly #seed: number;
  readonly #dropLast: boolean;
  readonly #flip: boolean;
  readonly #prefetch: number;
  readonly #layout: BatchLayout;
  readonly #skips: SkipCounter;
  readonly #decode: DecodeSettings;
  readonly #workers: LoaderWorker[] = [];
  readonly #rank: number;
  readonly #worldSize: number;
  #position: LoaderPosition;
  #nextId = 0;

  constructor(source: FaceSource, options: LoaderOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`FaceLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (options.labeled && source.numClasses === null) {
      throw new DataError(
        `${source.name}: the dataset has no identity labels (no property file, or an unlabeled folder) but the ` +
          "loader needs them: add a `property` file (num_classes,112,112) or use a labeled dataset",
      );
    }
    const { rank = 0, worldSize = 1 } = options.shard ?? {};
    if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new RangeError(`FaceLoader: shard must be a rank in [0, worldSize), got rank ${rank} of ${worldSize}`);
    }
    this.source = source;
    this.#batchSize = batchSize;
    this.#rank = rank;
    this.#worldSize = worldSize;
    this.#shuffle = options.shuffle ?? true;
    this.#seed = options.seed ?? 0;
    this.#dropLast = options.dropLast ?? true;
    this.#flip = options.flip ?? true;
    this.#layout = options.layout ?? "channels_last";
    this.#skips = new SkipCounter(options);
    this.#decode = {
      size: [...(options.imageSize ?? [112, 112])],
      skipCorrupt: options.skipCorrupt ?? false,
      strictDecode: options.strictDecode ?? false,
    };
    const workers = options.workers ?? 2;
    this.#prefetch = options.prefetch ?? Math.max(2, 2 * workers);
    if (this.batchesPerEpoch === 0) {
      throw new DataError(
        `${source.name}: ${source.length} images make no batch of ${batchSize * worldSize} with dropLast` +
          (worldSize > 1 ? ` (${batchSize} per rank x ${worldSize} ranks)` : "") +
          "; use a smaller batch or dropLast: false",
      );
    }
    this.#position = this.#checkedPosition(options.position ?? { epoch: 0, index: 0 });
    const setup: WorkerSetup = { spec: source.spec(), ...this.#decode };
    for (let i = 0; i < workers; i++) this.#workers.push(this.#startWorker(setup));
  }

  /** The position of the next batch. */
  get position(): LoaderPosition {
    return { ...this.#position };
  }

  /** Corrupt records skipped so far (with skipCorrupt). */
  get skipped(): number {
    return this.#skips.skipped;
  }

  /** Global batches (batchSize x worldSize samples) per epoch. */
  get batchesPerEpoch(): number {
    const n = this.source.length / (this.#batchSize * this.#worldSize);
    return this.#dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The batches of the current epoch from the current position on; afterwards the position is the next epoch. */
  async *epoch(): AsyncGenerator<Batch, void, undefined> {
    const { epoch, index } = this.#position;
    const plan = planEpoch(this.source.length, this.#seed, epoch, this.#shuffle, this.#flip);
    const global = this.#batchSize * this.#worldSize;
    // whole global batches from the position on (a run resumed with another world size may start mid-batch)
    const end = this.#dropLast
      ? index + Math.floor((this.source.length - index) / global) * global
      : this.source.length;
    const starts: number[] = [];
    for (let s = index; s < end; s += global) starts.push(s);
    const pending: Promise<LoadedSamples>[] = [];
    let requested = 0;
    const fill = (): void => {
      while (pending.length < this.#prefetch && requested < starts.length) {
        const start = Math.min(starts[requested++]! + this.#rank * this.#batchSize, end);
        const request = this.#request(plan, start, Math.min(this.#batchSize, end - start));
        request.catch(() => {}); // awaited in turn below; a batch abandoned by an early exit fails quietly
        pending.push(request);
      }
    };
    fill();
    for (let b = 0; b < starts.length; b++) {
      const loaded = await pending.shift()!;
      fill();
      const next = starts[b]! + global;
      this.#position = next >= end ? { epoch: epoch + 1, index: 0 } : { epoch, index: next };
      for (const message of loaded.skipped) this.#skips.skip(new CorruptRecordError(message));
      if (loaded.count > 0) yield this.#batch(loaded);
    }
    if (starts.length === 0) this.#position = { epoch: epoch + 1, index: 0 };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const workers = this.#workers.splice(0);
    // an idle worker is unref'd, and waiting on an unref'd worker's exit would not keep the process alive; the
    // message handler goes first, or a late reply to a read-ahead request would unref the worker again
    for (const w of workers) {
      w.worker.removeAllListeners("message");
      w.worker.ref();
    }
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }

  #checkedPosition(position: LoaderPosition): LoaderPosition {
    const { epoch, index } = position;
    if (!Number.isInteger(epoch) || epoch < 0 || !Number.isInteger(index) || index < 0 || index > this.source.length) {
      throw new RangeError(
        `FaceLoader: position (epoch ${epoch}, index ${index}) is not within this dataset of ${this.source.length}`,
      );
    }
    return { epoch, index };
  }

  #batch(loaded: LoadedSamples): Batch {
    const [h, w] = this.#decode.size;
    const images = imagesToTensor(loaded.pixels, loaded.count, h, w, this.#layout, loaded.flips);
    const labels = torch.tensor(loaded.labels, { dtype: "int64" });
    const indices = torch.tensor(loaded.positions, { dtype: "int64" });
    return {
      images,
      labels,
      indices,
      position: this.position,
      [Symbol.dispose]() {
        images.dispose();
        labels.dispose();
        indices.dispose();
      },
    };
  }

  #request(plan: EpochPlan, start: number, size: number): Promise<LoadedSamples> {
    const request: SampleRequest = {
      positions: plan.order.slice(start, start + size),
      flips: plan.flips.slice(start, start + size),
    };
    if (this.#workers.length === 0) return loadSamples(this.source, request, this.#decode);
    const target = this.#workers.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
    if (target.failure !== null) return Promise.reject(target.failure);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      target.inFlight.set(id, { resolve, reject });
      target.worker.ref();
      target.worker.postMessage({ id, ...request });
    });
  }

  #startWorker(setup: WorkerSetup): LoaderWorker {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: setup });
    const entry: LoaderWorker = { worker, inFlight: new Map(), failure: null };
    worker.unref(); // an idle loader does not keep the process alive; busy workers are ref'd
    const failAll = (error: Error): void => {
      entry.failure ??= error;
      for (const p of entry.inFlight.values()) p.reject(error);
      entry.inFlight.clear();
    };
    worker.on("message", (reply: WorkerReply) => {
      const pending = entry.inFlight.get(reply.id);
      entry.inFlight.delete(reply.id);
      if (entry.inFlight.size === 0) worker.unref();
      if (pending === undefined) return;
      if ("error" in reply) pending.reject(rebuildError(reply.errorName, reply.error));
      else pending.resolve(reply);
    });
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`a data loader worker stopped (exit code ${code})`)));
    return entry;
  }
}

function rebuildError(name: string, message: string): Error {
  if (name === "CorruptRecordError") return new CorruptRecordError(message);
  if (name === "DataError") return new DataError(message);
  return new Error(message);
}
