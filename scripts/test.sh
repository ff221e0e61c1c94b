#!/usr/bin/env bash
# Sets up what the tests need (packages, build, Fashion-MNIST LMDBs), builds
# everything setup.sh left out, and runs the whole test suite with ctest.
#
#   ./scripts/test.sh             the Release build in build/
#   ./scripts/test.sh --sanitize  the C++ suite under AddressSanitizer +
#                                 UndefinedBehaviorSanitizer with leak checks
#                                 (clang, CPU only) in build-sanitize/, and
#                                 each fuzz target over its seeds
# Extra arguments after the options go to ctest (e.g. -R Conv).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
sanitize=0
if [[ "${1:-}" == --sanitize ]]; then
  sanitize=1
  shift
fi

if (( sanitize )); then
  ./scripts/setup.sh --packages-only
  ./scripts/build_sanitize.sh build-sanitize
  data/get_fashion_mnist.sh build-sanitize/convert_mnist
  # Every report is fatal and names its stack; leaks are checked at exit. A
  # failed allocation returns null as the C library's would, so the tests of
  # Cortado's "could not allocate" errors see what users see.
  export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
  cd build-sanitize
else
  ./scripts/setup.sh --no-train
  cmake --build build -j"$(nproc)"
  cd build
fi
# ctest runs one test per core, each with a team of OpenMP threads: idle
# threads that spin would steal the cores the other tests compute on.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
ctest --output-on-failure -j"$(nproc)" --timeout 1800 "$@"
