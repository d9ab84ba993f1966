// Data-parallel and sharded training across processes, like torch.distributed: a TCPStore for rendezvous and a
// Gloo process group with allReduce / broadcast / allGather / gather / barrier on CPU tensors, and an allGather
// that autograd differentiates. Every call blocks until it ends.
import os from "node:os";
import { wrap } from "./dispatch.js";
import { native, type DistHandle } from "./native.js";
import { isFloatingDType } from "./dtype.js";
import { noGrad } from "./autograd.js";
import { tidy } from "./scope.js";
import type { Tensor } from "./tensor.js";

export type ReduceOp = "sum" | "product" | "min" | "max" | "avg";

const REDUCE_OPS: readonly ReduceOp[] = ["sum", "product", "min", "max", "avg"];
/** torch.distributed's default timeout for process groups (30 minutes). */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;

// ---- argument checks ----

function checkInteger(where: string, name: string, value: unknown, min: number, max: number, hint: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${where}: ${name} must be an integer in [${min}, ${max}], got ${String(value)}; ${hint}`);
  }
  return value;
}

function checkWorldSize(where: string, worldSize: unknown): number {
  return checkInteger(where, "worldSize", worldSize, 1, 2 ** 31 - 1, "it is the number of processes taking part");
}

function checkRank(where: string, rank: unknown, worldSize: number): number {
  return checkInteger(where, "rank", rank, 0, worldSize - 1, `ranks number the ${worldSize} process(es) from 0`);
}

function checkPort(where: string, port: unknown): number {
  return checkInteger(where, "port", port, 1, 65535, "pass the TCP port rank 0 listens on (e.g. 29500)");
}

function checkTimeout(where: string, timeoutMs: unknown): number {
  return checkInteger(where, "timeoutMs", timeoutMs, 1, Number.MAX_SAFE_INTEGER, "it is in milliseconds");
}

function checkHost(where: string, name: string, host: unknown): string {
  if (typeof host !== "string" || host === "") {
    throw new TypeError(`${where}: ${name} must be a non-empty host name or IP address, got ${String(host)}`);
  }
  return host;
}

// Gloo reads and writes the tensor's memory directly: it must be a dense CPU tensor.
function checkGlooTensor(where: string, tensor: Tensor): void {
  const device = tensor.device;
  if (device !== "cpu") {
    throw new TypeError(
      `${where}: the Gloo backend works on CPU tensors, this one is on '${device}'; ` +
        "reduce a CPU copy (const c = t.to({ device: 'cpu' })) and copy it back with t.copy_(c)",
    );
  }
  if (!tensor.isContiguous()) {
    throw new TypeError(
      `${where}: the Gloo backend needs a contiguous tensor (this one is a strided view, shape ` +
        `[${tensor.shape.join(", ")}]); use const c = t.contiguous(), pass c, then copy it back with t.copy_(c)`,
    );
  }
}

// Gathering concatenates along dim 0: a scalar has none.
function checkGatherable(where: string, tensor: Tensor): void {
  checkGlooTensor(where, tensor);
  if (tensor.ndim === 0) {
    throw new TypeError(
      `${where}: ranks' tensors are concatenated along dim 0, a 0-d tensor has none; pass t.reshape([1])`,
    );
  }
}

// ---- store ----

export interface TCPStoreOptions {
  /** The server's address (rank 0's host). */
  host: string;
  port: number;
  /** True in exactly one process (rank 0), which serves the store on `port`. */
  isServer: boolean;
  worldSize: number;
  /** How long connecting and get() wait before failing. Default 30 minutes. */
  timeoutMs?: number;
}

/** A key-value store shared by all processes, served by one of them over TCP (c10d::TCPStore). */
export class TCPStore {
  readonly host: string;
  readonly port: number;
  readonly isServer: boolean;
  readonly worldSize: number;
  #handle: DistHandle | null;

  /** Serves the store (isServer) or connects to it, retrying until timeoutMs. */
  constructor(options: TCPStoreOptions) {
    const where = "TCPStore";
    this.host = checkHost(where, "host", options.host);
    this.port = checkPort(where, options.port);
    this.isServer = Boolean(options.isServer);
    this.worldSize = checkWorldSize(where, options.worldSize);
    const timeoutMs = checkTimeout(where, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.#handle = native.tcpStore(this.host, this.port, this.isServer, this.worldSize, timeoutMs);
  }

  /** The native store; throws once closed. */
  get handle(): DistHandle {
    if (this.#handle === null) throw new Error("TCPStore: this store was closed; make a new one to keep using it");
    return this.#handle;
  }

  get isClosed(): boolean {
    return this.#handle === null;
  }

  set(key: string, value: string): void {
    if (typeof key !== "string" || typeof value !== "string") {
      throw new TypeError(`TCPStore.set: key and value must be strings, got ${typeof key} and ${typeof value}`);
    }
    native.storeSet(this.handle, key, value);
  }

  /** The value of `key`, waiting (up to the store's timeout) until some process sets it. */
  get(key: string): string {
    if (typeof key !== "string") throw new TypeError(`TCPStore.get: key must be a string, got ${typeof key}`);
    return native.storeGet(this.handle, key);
  }

  /** Releases the connection (and, on the server, stops serving once no group uses it). Idempotent. */
  close(): void {
    if (this.#handle !== null) {
      native.close(this.#handle);
      this.#handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- process group ----

export interface GlooOptions {
  store: TCPStore;
  rank: number;
  worldSize: number;
  /** The address this process's Gloo device binds to; others connect to it. Default 127.0.0.1 (one machine). */
  host?: string;
  /** How long rendezvous and each collective wait before failing. Default 30 minutes. */
  timeoutMs?: number;
  /** Close the store when the group is closed. Default false. */
  ownsStore?: boolean;
}

/** A group of processes running collectives together (c10d::ProcessGroupGloo). */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** The store used for rendezvous; closed with the group when the group made it (initProcessGroup). */
  readonly store: TCPStore;
  #handle: DistHandle | null;
  #ownsStore: boolean;

  private constructor(handle: DistHandle, store: TCPStore, rank: number, worldSize: number, ownsStore: boolean) {
    this.#handle = handle;
    this.store = store;
    this.rank = rank;
    this.worldSize = worldSize;
    this.#ownsStore = ownsStore;
  }

  /**
   * Joins a Gloo group: blocks until all `worldSize` processes have called this with the same store.
   * Use one store per group (the group's rendezvous keys are not prefixed).
   */
  static gloo(options: GlooOptions): ProcessGroup {
    const where = "ProcessGroup.gloo";
    if (!(options.store instanceof TCPStore)) throw new TypeError(`${where}: store must be a TCPStore`);
    const worldSize = checkWorldSize(where, options.worldSize);
    const rank = checkRank(where, options.rank, worldSize);
    const host = checkHost(where, "host", options.host ?? "127.0.0.1");
    const timeoutMs = checkTimeout(where, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const handle = native.processGroupGloo(options.store.handle, rank, worldSize, host, timeoutMs);
    return new ProcessGroup(handle, options.store, rank, worldSize, Boolean(options.ownsStore));
  }

  /** The native group; throws once closed. */
  get handle(): DistHandle {
    if (this.#handle === null) {
      throw new Error("ProcessGroup: this group was closed; make a new one (initProcessGroup) to keep using it");
    }
    return this.#handle;
  }

  get isClosed(): boolean {
    return this.#handle === null;
  }

  /**
   * Reduces `tensor` across all ranks in place and returns it; every rank ends with the result. "avg" is a sum
   * divided by worldSize (Gloo has no AVG) and needs a floating-point tensor.
   */
  allReduce(tensor: Tensor, op: ReduceOp = "sum"): Tensor {
    const where = "allReduce";
    if (!REDUCE_OPS.includes(op)) {
      throw new TypeError(`${where}: op must be one of ${REDUCE_OPS.join(", ")}, got ${String(op)}`);
    }
    checkGlooTensor(where, tensor);
    if (op === "avg" && !isFloatingDType(tensor.dtype)) {
      throw new TypeError(
        `${where}: op 'avg' needs a floating-point tensor, this one is ${tensor.dtype}; ` +
          "convert it (t.to({ dtype: 'float32' })) or reduce with 'sum' and divide yourself",
      );
    }
    native.allReduce(this.handle, tensor.handle, op === "avg" ? "sum" : op);
    if (op === "avg") noGrad(() => tensor.div_(this.worldSize)); // like the collective, outside autograd
    return tensor;
  }

  /**
   * Starts a sum of `tensor` across all ranks, in place, on Gloo's threads, and returns at once; `wait()` on the
   * result blocks until it is done. The tensor must not be read or written meanwhile, and every rank must start its
   * collectives in the same order.
   */
  allReduceAsync(tensor: Tensor): { wait(): void } {
    checkGlooTensor("allReduceAsync", tensor);
    const work = native.allReduceAsync(this.handle, tensor.handle, "sum");
    return { wait: () => native.waitWork(work) };
  }

  /** Copies rank `root`'s tensor into `tensor` on every rank, in place, and returns it. */
  broadcast(tensor: Tensor, root: number): Tensor {
    const where = "broadcast";
    checkInteger(where, "root", root, 0, this.worldSize - 1, "it is the rank whose tensor is sent");
    checkGlooTensor(where, tensor);
    native.broadcast(this.handle, tensor.handle, root);
    return tensor;
  }

  /**
   * Every rank's `tensor` [N, ...] concatenated in rank order: [worldSize * N, ...] on every rank (PyTorch's
   * all_gather_into_tensor). All ranks must pass tensors of the same shape and dtype. Not differentiable (see
   * allGatherWithGrad).
   */
  allGatherIntoTensor(tensor: Tensor): Tensor {
    checkGatherable("allGather", tensor);
    return wrap(native.allGather(this.handle, tensor.handle, false));
  }

  /** Every rank's `tensor`, in rank order (PyTorch's all_gather): views of one allGatherIntoTensor() result. */
  allGather(tensor: Tensor): Tensor[] {
    return tidy(() => this.allGatherIntoTensor(tensor).chunk(this.worldSize));
  }

  /**
   * allGatherIntoTensor() that autograd differentiates (torch.distributed.nn's all_gather): in backward, the
   * gradients of the gathered tensor are summed over the ranks and each rank's `tensor` receives the rows it
   * contributed. Its backward is itself a collective: every rank must run backward through the result.
   */
  allGatherWithGrad(tensor: Tensor): Tensor {
    checkGatherable("allGatherWithGrad", tensor);
    return wrap(native.allGather(this.handle, tensor.handle, true));
  }

  /**
   * Every rank's `tensor` [N, ...] concatenated in rank order, [worldSize * N, ...], on rank `root` only (null on
   * the others, which need no memory for it). All ranks must pass tensors of the same shape and dtype.
   */
  gather(tensor: Tensor, root = 0): Tensor | null {
    const where = "gather";
    checkInteger(where, "root", root, 0, this.worldSize - 1, "it is the rank that receives the tensors");
    checkGatherable(where, tensor);
    const h = native.gather(this.handle, tensor.handle, root);
    return h === null ? null : wrap(h);
  }

  /** Blocks until every rank has reached this barrier. */
  barrier(): void {
    native.barrier(this.handle);
  }

  /**
   * Leaves the group (and closes its store when the group made it). Idempotent. Rank 0 serves the store, so
   * let it close last (e.g. after a barrier()) when other ranks still use the store.
   */
  close(): void {
    if (this.#handle !== null) {
      native.close(this.#handle);
      this.#handle = null;
      if (this.#ownsStore) this.store.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- torchrun-style initialisation ----

export interface InitOptions {
  /** Default: the RANK environment variable. */
  rank?: number;
  /** Default: the WORLD_SIZE environment variable. */
  worldSize?: number;
  /** Rank 0's address. Default: the MASTER_ADDR environment variable. */
  masterAddr?: string;
  /** The store's port on rank 0. Default: the MASTER_PORT environment variable. */
  masterPort?: number;
  /** The address this process's Gloo device binds to. Default: 127.0.0.1 for a local masterAddr, else the host name. */
  host?: string;
  /** Store and group timeout. Default 30 minutes. */
  timeoutMs?: number;
}

function fromEnv(where: string, name: string, option: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") {
    throw new Error(
      `${where}: ${option} was not given and the ${name} environment variable is not set; ` +
        `pass ${option} or run under a launcher (torchrun-style) that sets ${name}`,
    );
  }
  return value;
}

function intFromEnv(where: string, name: string, option: string): number {
  const text = fromEnv(where, name, option).trim();
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new RangeError(`${where}: the ${name} environment variable must be an integer, got '${text}'`);
  }
  return value;
}

const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "::1"]);

/**
 * Joins the default group the way torch.distributed.init_process_group("gloo") does with env:// : rank 0 serves
 * a TCPStore on masterAddr:masterPort, every rank connects and joins a Gloo group. Missing options are read from
 * RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT. close() on the group also closes its store.
 */
export function initProcessGroup(options: InitOptions = {}): ProcessGroup {
  const where = "initProcessGroup";
  const worldSize = checkWorldSize(where, options.worldSize ?? intFromEnv(where, "WORLD_SIZE", "worldSize"));
  const rank = checkRank(where, options.rank ?? intFromEnv(where, "RANK", "rank"), worldSize);
  const masterAddr = checkHost(where, "masterAddr", options.masterAddr ?? fromEnv(where, "MASTER_ADDR", "masterAddr"));
  const masterPort = checkPort(where, options.masterPort ?? intFromEnv(where, "MASTER_PORT", "masterPort"));
  const timeoutMs = checkTimeout(where, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const host = options.host ?? (LOCAL_HOSTS.has(masterAddr) ? "127.0.0.1" : os.hostname());

  const store = new TCPStore({ host: masterAddr, port: masterPort, isServer: rank === 0, worldSize, timeoutMs });
  try {
    return ProcessGroup.gloo({ store, rank, worldSize, host, timeoutMs, ownsStore: true });
  } catch (err) {
    store.close();
    throw err;
  }
}
