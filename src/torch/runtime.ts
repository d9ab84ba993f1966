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
