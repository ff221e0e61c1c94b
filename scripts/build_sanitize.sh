#!/usr/bin/env bash
# Configures and builds the sanitizer build (clang, AddressSanitizer +
# UndefinedBehaviorSanitizer, CPU only, with the libFuzzer targets) that
# `scripts/test.sh --sanitize` and bench/fuzz.sh use.
#
#   scripts/build_sanitize.sh [build-dir] [targets...]
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-${repo_root}/build-sanitize}"
shift || true
if ! command -v clang++ >/dev/null; then
  echo "build_sanitize.sh: clang++ not found; install the Debian package clang" >&2
  exit 1
fi
cmake -S "${repo_root}" -B "${build_dir}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCORTADO_SANITIZE=ON -DCORTADO_FUZZ=ON -DCORTADO_CUDA=OFF -DCORTADO_PYTHON=OFF >/dev/null
if (( $# > 0 )); then
  cmake --build "${build_dir}" -j"$(nproc)" --target "$@"
else
  cmake --build "${build_dir}" -j"$(nproc)"
fi
