// `facekd info`: the engine facekd runs on (libtorch version, threads, BLAS, CUDA devices).
import { existsSync, readFileSync } from "node:fs";
import type { Command } from "commander";
import * as torch from "../../torch/index.js";

// libtorch calls whatever libblas.so.3 the system provides (Debian's alternatives), so look at what is loaded.
function loadedBlas(config: string): string {
  if (existsSync("/proc/self/maps")) {
    const lib = readFileSync("/proc/self/maps", "utf8").match(/\S*(openblas|mkl|blis|atlas)\S*\.so\S*/i);
    if (lib) return `${lib[1]!} (${lib[0]})`;
  }
  return /BLAS_INFO=(\w+)/.exec(config)?.[1] ?? "unknown";
}

export function registerInfo(program: Command): void {
  program
    .command("info")
    .description("show the libtorch build, thread count and devices facekd uses")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExamples:\n  facekd info\n  FACEKD_THREADS=1 facekd info --json")
    .action((opts: { json?: boolean }) => {
      const build = torch.buildInfo();
      const info = {
        libtorch: build.torchVersion,
        threads: torch.getNumThreads(),
        cudaDevices: torch.cudaDeviceCount(),
        blas: loadedBlas(build.config),
      };
      if (opts.json) console.log(JSON.stringify({ ...info, config: build.config }, null, 2));
      else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(12)} ${v}`);
    });
}
