// Loads the C++ addon (native/) and describes its functions. Only torch/ talks to it.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** An opaque reference to a libtorch tensor owned by the addon. */
export type Handle = { readonly __nativeTensor: unique symbol };
/** An opaque reference to a c10d store or process group. */
export type DistHandle = { readonly __nativeDist: unique symbol };

export interface NativeAddon {
  findOp(name: string, overload: string): number;
  opSchema(id: number): string;
  callOp(id: number, args: unknown[], discardResult: boolean): unknown;

  fromBytes(data: ArrayBufferView, dtype: number, shape: number[]): Handle;
  toBytes(h: Handle): ArrayBuffer;
  shape(h: Handle): number[];
  dtype(h: Handle): number;
  device(h: Handle): string;
  requiresGrad(h: Handle): boolean;
  isLeaf(h: Handle): boolean;
  isContiguous(h: Handle, memoryFormat: number): boolean;
  item(h: Handle): number | boolean;
  grad(h: Handle): Handle | null;
  setGrad(h: Handle, grad: Handle | null): void;
  backward(h: Handle, grad: Handle | null, retainGraph: boolean, createGraph: boolean): void;
  dispose(h: Handle): void;
  accountExternal(h: Handle): void;
  setGradEnabled(enabled: boolean): boolean;
  manualSeed(seed: number): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  buildInfo(): { torchVersion: string; config: string; parallelInfo: string };

  autocastState(deviceType: string): { enabled: boolean; dtype: number };
  setAutocast(deviceType: string, enabled: boolean, dtype: number): void;
  enterAutocast(): number;
  exitAutocast(): number;

  tcpStore(host: string, port: number, isServer: boolean, worldSize: number, timeoutMs: number): DistHandle;
  storeSet(store: DistHandle, key: string, value: string): void;
  storeGet(store: DistHandle, key: string): string;
  processGroupGloo(store: DistHandle, rank: number, worldSize: number, host: string, timeoutMs: number): DistHandle;
  allReduce(group: DistHandle, tensor: Handle, op: string): void;
  allReduceAsync(group: DistHandle, tensor: Handle, op: string): DistHandle;
  waitWork(work: DistHandle): void;
  addGradHook(tensor: Handle, fn: () => void): DistHandle;
  removeGradHook(hook: DistHandle): void;
  broadcast(group: DistHandle, tensor: Handle, root: number): void;
  allGather(group: DistHandle, tensor: Handle, withGrad: boolean): Handle;
  gather(group: DistHandle, tensor: Handle, root: number): Handle | null;
  barrier(group: DistHandle): void;
  close(handle: DistHandle): void;
}

function projectRoot(): string {
  // this file lives in dist/src/torch/ once compiled
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("facekd: cannot find the package root from " + import.meta.url);
    dir = parent;
  }
  return dir;
}

function load(): NativeAddon {
  const file = path.join(projectRoot(), "native", "build", "Release", "facekd_native.node");
  if (!existsSync(file)) {
    throw new Error(
      `facekd: the native addon is not built (${file} is missing). Run 'npm run build:native' ` +
        "(it needs libtorch: Debian's libtorch-dev, or LIBTORCH=/path/to/libtorch).",
    );
  }
  return createRequire(import.meta.url)(file) as NativeAddon;
}

export const native: NativeAddon = load();
