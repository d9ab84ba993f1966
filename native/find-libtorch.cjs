#!/usr/bin/env node
// Locates libtorch for the addon build. LIBTORCH may name an unpacked libtorch folder (for example a CUDA
// build); otherwise Debian's libtorch-dev under /usr is used.
//   --check    exit 1 with instructions when libtorch is missing
//   --include  print include directories      --libdir  print the library directory
//   --libs     print the libraries to link (torch_cuda too when the folder has it)
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = process.env.LIBTORCH ? path.resolve(process.env.LIBTORCH) : "/usr";
const includeDir = path.join(root, "include");
const libDirs = process.env.LIBTORCH
  ? [path.join(root, "lib")]
  : ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"];
const libDir = libDirs.find((d) => fs.existsSync(path.join(d, "libtorch_cpu.so"))) ?? libDirs[0];
const header = path.join(includeDir, "torch/csrc/api/include/torch/version.h");

function missing() {
  const lines = [
    `facekd: libtorch was not found (looked for ${header} and ${path.join(libDir, "libtorch_cpu.so")}).`,
    "Install it in one of these ways:",
    "  - Debian/Ubuntu: sudo apt-get install libtorch-dev libgloo-dev libopenblas0-pthread",
    "  - or unpack a libtorch build (CPU or CUDA, C++11 ABI) and run: LIBTORCH=/path/to/libtorch npm run build:native",
  ];
  return lines.join("\n");
}

const arg = process.argv[2];
const found = fs.existsSync(header) && fs.existsSync(path.join(libDir, "libtorch_cpu.so"));
if (arg === "--check") {
  if (!found) {
    console.error(missing());
    process.exit(1);
  }
} else if (arg === "--include") {
  console.log([includeDir, path.join(includeDir, "torch/csrc/api/include")].join(" "));
} else if (arg === "--libdir") {
  console.log(libDir);
} else if (arg === "--libs") {
  const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
  if (fs.existsSync(path.join(libDir, "libtorch_cuda.so")))
    libs.push("-Wl,--no-as-needed", "-ltorch_cuda", "-lc10_cuda");
  console.log(libs.join(" "));
} else {
  console.error("usage: find-libtorch.cjs --check | --include | --libdir | --libs");
  process.exit(2);
}
