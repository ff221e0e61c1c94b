#!/usr/bin/env bash
# Sets Cortado up on a fresh Debian 12 machine: installs the Debian packages it
# needs, builds the `cortado` tool and convert_mnist (Release) in build/,
# converts Fashion-MNIST to LMDB, and then trains LeNet on it, printing the
# final test accuracy. scripts/test.sh builds the rest (tests, Python module,
# other tools).
#
#   ./scripts/setup.sh                  everything, ending with the LeNet training run
#   ./scripts/setup.sh --no-train       install, build and convert only
#   ./scripts/setup.sh --packages-only  install the Debian packages only
#
# Safe to re-run: installed packages, the build and the LMDBs are reused.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${repo_root}"
train=1
build=1
for arg in "$@"; do
  case "${arg}" in
    --no-train) train=0 ;;
    --packages-only) train=0; build=0 ;;
    *) echo "setup.sh: unknown option ${arg}" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config
  protobuf-compiler libprotobuf-dev
  libopenblas-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-dnn-dev
  liblmdb-dev libleveldb-dev libsnappy-dev libhdf5-dev libgoogle-glog-dev libgflags-dev libgtest-dev
  zlib1g-dev
  libdnnl-dev
  libopenmpi-dev openmpi-bin
  pybind11-dev python3-dev python3-numpy python3-protobuf python3-pytest python3-pil python3-matplotlib python3-yaml graphviz
  libonnx-dev python3-onnx
  clang libclang-rt-dev libomp-dev
  dataset-fashion-mnist
)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "${p}" >/dev/null 2>&1 || missing+=("${p}")
done
if (( ${#missing[@]} > 0 )); then
  echo "setup.sh: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
fi

(( build )) || exit 0
jobs="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${CORTADO_CMAKE_ARGS:-}
# Only what the main job needs: a newcomer waits for these two, not for the
# test binary.
cmake --build build -j"${jobs}" --target cortado_tool convert_mnist

data/get_fashion_mnist.sh build/convert_mnist

if (( train )); then
  mkdir -p models/lenet/snapshots
  log="models/lenet/snapshots/train.log"
  echo "setup.sh: training LeNet on Fashion-MNIST (log: ${log})"
  start=$(date +%s)
  build/cortado train --solver=models/lenet/lenet_solver.prototxt 2>&1 | tee "${log}"
  end=$(date +%s)
  accuracy=$(grep -o 'Test net output #0: accuracy = [0-9.]*' "${log}" | tail -1 | awk '{print $NF}')
  echo "setup.sh: LeNet trained in $((end - start)) s; final test accuracy ${accuracy}"
fi
