// Which BLAS the engine benchmark's processes use: the libraries mapped into this process, the Debian package of
// the optimized one, and a verdict that the matmul speed backs up.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export function loadedBlas(): string[] {
  try {
    const libs = new Set<string>();
    for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
      const file = line.trim().split(/\s+/).at(-1) ?? "";
      if (file.startsWith("/") && /blas/i.test(file)) libs.add(file);
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}

export function dpkgStatus(pkg: string): string {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status} ${Version}", pkg], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return "not installed";
  }
}

export function blasVerdict(libs: string[], gflops: number | undefined): string {
  const lib = libs.some((l) => /openblas/i.test(l))
    ? "OpenBLAS"
    : libs.length > 0
      ? "generic reference BLAS"
      : "unknown BLAS";
  if (gflops === undefined) return lib;
  return (
    lib + (gflops >= 15 ? " (matmul speed fits an optimized BLAS)" : " (matmul slow: generic-BLAS speed, ~5 GFLOP/s)")
  );
}
