// Engine-wide settings: threads, seeding, devices and build information.
import { availableParallelism } from "node:os";
import { native } from "./native.js";

/** Seeds libtorch's default generators: weight init, dropout, randn/rand/randint and randperm repeat. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new RangeError(`manualSeed: seed must be a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** Sets libtorch's intra-op thread count (the pool used inside each op). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

export function cudaIsAvailable(): boolean {
  return cudaDeviceCount() > 0;
}

const DEVICE_PATTERN = /^(cpu|cuda(:\d+)?)$/;

/**
 * Checks a device name ('cpu', 'cuda' or 'cuda:N') against this libtorch build and returns it as tensors report
 * theirs ('cuda' is 'cuda:0'). A CUDA device needs an addon built against a CUDA libtorch.
 */
export function resolveDevice(device: string): string {
  if (!DEVICE_PATTERN.test(device)) {
    throw new RangeError(`device '${device}': expected 'cpu', 'cuda' or 'cuda:N' (N the GPU's index)`);
  }
  if (device === "cpu") return device;
  const count = cudaDeviceCount();
  if (count === 0) {
    throw new Error(
      `device '${device}': this libtorch (${buildInfo().torchVersion}) has no CUDA: build the addon against a ` +
        "CUDA libtorch with LIBTORCH=/path/to/libtorch ./scripts/install.sh (see README, Mixed precision and GPUs), " +
        "or use device 'cpu'",
    );
  }
  const index = device === "cuda" ? 0 : Number(device.slice(5));
  if (index >= count)
    throw new RangeError(`device '${device}': this machine has ${count} GPU(s), cuda:0 to cuda:${count - 1}`);
  return `cuda:${index}`;
}

/**
 * The device of one data-parallel rank (torchrun's convention): with 'cuda', rank r of a node uses cuda:LOCAL_RANK,
 * one GPU per process; 'cpu' and an explicit 'cuda:N' stay as they are.
 */
export function deviceForLocalRank(device: string, localRank: number): string {
  if (!Number.isInteger(localRank) || localRank < 0) {
    throw new RangeError(`deviceForLocalRank: LOCAL_RANK must be a non-negative integer, got ${localRank}`);
  }
  return resolveDevice(device === "cuda" ? `cuda:${localRank}` : device);
}

export function buildInfo(): { torchVersion: string; config: string; parallelInfo: string } {
  return native.buildInfo();
}

// libtorch starts with one intra-op thread here; use every core unless FACEKD_THREADS says otherwise.
function defaultThreads(): number {
  const fromEnv = Number(process.env.FACEKD_THREADS);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

setNumThreads(defaultThreads());

/** Runs `fn` (sync or async) with `n` intra-op threads, then restores the previous count, also on error. */
export function withNumThreads<T>(n: number, fn: () => T): T {
  const previous = getNumThreads();
  setNumThreads(n);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    setNumThreads(previous);
    throw error;
  }
  if (result instanceof Promise) return result.finally(() => setNumThreads(previous)) as T;
  setNumThreads(previous);
  return result;
}
