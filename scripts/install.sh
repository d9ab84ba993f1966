#!/usr/bin/env bash
# Installs everything facekd needs on a Debian machine and builds it: the Debian packages (libtorch and
# friends, when missing and we may install them), the npm packages, the native addon and the TypeScript.
# With LIBTORCH=/path/to/libtorch (for example a CUDA build) the Debian libtorch packages are not needed.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the report's end-to-end test renders the HTML report in a real headless browser; python3-onnx: the
# ONNX export test checks every file with onnx.checker
packages=(libopenblas0-pthread chromium python3-onnx)
if [ -z "${LIBTORCH:-}" ]; then packages+=(libtorch-dev libgloo-dev); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = "none" ]; then
    echo "facekd: these Debian packages are missing: ${missing[*]}" >&2
    echo "  Install them as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
    echo "  or point LIBTORCH at an unpacked libtorch folder and run this script again." >&2
    exit 1
  fi
  echo "facekd: installing ${missing[*]} (Debian packages)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Each step below runs only when what it depends on changed since it last ran, so a second call is quick.
stamp() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# npm packages: when package-lock.json changed (or node_modules is missing). onnxruntime-node would otherwise try to
# download CUDA libraries from outside the registry.
lock_stamp="$(stamp package-lock.json)"
if [ "$(cat node_modules/.facekd-installed 2>/dev/null)" != "$lock_stamp" ]; then
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
  echo "$lock_stamp" > node_modules/.facekd-installed
fi

# the addon: when its sources, its build files, Node or the libtorch it links (file, size, time) changed
libtorch="$(node native/find-libtorch.cjs --libdir 2>/dev/null || true)/libtorch_cpu.so"
native_stamp="$( (cat native/src/* native/binding.gyp native/find-libtorch.cjs; node --version; echo "${LIBTORCH:-}";
  stat -c '%n %s %Y' "$libtorch" 2>/dev/null) | sha256sum | cut -d' ' -f1)"
if [ ! -f native/build/Release/facekd_native.node ] ||
  [ "$(cat native/build/.facekd-built 2>/dev/null)" != "$native_stamp" ]; then
  npm run build:native
  echo "$native_stamp" > native/build/.facekd-built
fi

# TypeScript: incremental (tsconfig.json), so unchanged sources compile in seconds
npm run build
