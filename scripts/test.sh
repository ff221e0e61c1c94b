#!/usr/bin/env bash
# Sets up what the tests need (packages, build, Fashion-MNIST LMDBs) and runs
# the whole test suite with ctest.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
./scripts/setup.sh --no-train
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 900
