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

# onnxruntime-node (a benchmark peer) would otherwise try to download CUDA libraries from outside the registry
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
npm run build:native
npm run build
