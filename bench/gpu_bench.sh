#!/usr/bin/env bash
# The GPU checks and timings, run on the lent GPU machine from the repository
# root with device_bundle.tar.xz beside it (made here by bench/device_bundle.py
# from a CUDA build). It runs the CUDA tests, `cortado time` on CPU and GPU
# for LeNet and the conformance nets, and LeNet training on the GPU next to
# PyTorch on the same GPU, then prints tables. Logs go to $OUT (or /tmp/gpu_bench).
# Usage: bench/gpu_bench.sh [--iterations=N] [--no-tests] [--no-train] [--no-time]
# Through the workplace's device tool: build here, run bench/device_bundle.py,
# then `run` with carry ["device_bundle.tar.xz"] and command "bench/gpu_bench.sh".
set -uo pipefail
repo=$(pwd)
out=${OUT:-/tmp/gpu_bench}
mkdir -p "${out}"
iterations=10000 tests=1 train=1 timing=1
for arg in "$@"; do
  case "${arg}" in
    --iterations=*) iterations="${arg#*=}" ;;
    --no-tests) tests=0 ;;
    --no-train) train=0 ;;
    --no-time) timing=0 ;;
    *) echo "gpu_bench.sh: unknown option ${arg}" >&2; exit 2 ;;
  esac
done
[[ -f device_bundle.tar.xz ]] || {
  echo "gpu_bench.sh: device_bundle.tar.xz missing; make it with bench/device_bundle.py" >&2
  exit 1
}

# --- Unpack: programs into build/, libraries on the search path ---------------
python3 -c "import tarfile; tarfile.open('device_bundle.tar.xz').extractall('/tmp')"
bundle=/tmp/device_bundle
mkdir -p build
cp "${bundle}"/bin/* build/
# The tests name files by the absolute source path they were built in
# (models/, ../shared/conformance): make that path lead here.
source_dir=$(cat "${bundle}/SOURCE_DIR")
if [[ "${source_dir}" != "${repo}" && ! -e "${source_dir}" ]]; then
  mkdir -p "$(dirname "${source_dir}")"
  ln -s "${repo}" "${source_dir}"
fi
shared="$(dirname "${source_dir}")/shared"
if [[ ! -e "${shared}/conformance" ]]; then
  mkdir -p "${shared}"
  ln -s "${bundle}/conformance" "${shared}/conformance"
fi
# CUDA's libraries: the toolkit's, and those of PyTorch's wheels (cuDNN).
cuda_dirs=$(python3 - <<'EOF'
import glob, os, site
dirs = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]
for sp in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib")))
print(":".join(d for d in dirs if os.path.isdir(d)))
EOF
)
export LD_LIBRARY_PATH="${bundle}/lib:${cuda_dirs}${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
if ldd build/cortado_tests | grep "not found"; then
  echo "gpu_bench.sh: libraries missing (above); LD_LIBRARY_PATH=${LD_LIBRARY_PATH}" >&2
  exit 1
fi
build/cortado device_query | tee "${out}/device_query.txt"
if [[ ! -d data/fashion_mnist/fashion_mnist_train_lmdb ]]; then
  FASHION_MNIST_DIR="${bundle}/fashion-mnist" data/get_fashion_mnist.sh build/convert_mnist \
    > "${out}/convert.log" 2>&1 || { cat "${out}/convert.log"; exit 1; }
fi

# --- Tests: every CUDA test (CPU/GPU agreement, GPU gradients, GPU training) --
if (( tests )); then
  build/cortado_tests --gtest_filter='*Cuda*:*Gpu*:Device*' > "${out}/gpu_tests.log" 2>&1
  echo "== CUDA tests (log: ${out}/gpu_tests.log) =="
  grep -E '^\[  (PASSED|FAILED|SKIPPED) +\] [0-9]+ tests?|tests? from .* ran' "${out}/gpu_tests.log"
  grep -E '^\[  FAILED  \] [A-Za-z].*\.' "${out}/gpu_tests.log" | sort -u | head -40
fi

# --- cortado time: forward/backward ms per net, CPU and GPU -------------------
# net | stub shape for data layers that declare none
nets=(
  "models/lenet/lenet_train_test.prototxt|"
  "${shared}/conformance/bvlc/examples/cifar10/cifar10_quick_train_test.prototxt|data:3,32,32"
  "${shared}/conformance/bvlc/examples/cifar10/cifar10_full_train_test.prototxt|data:3,32,32"
  "${shared}/conformance/bvlc/models/bvlc_alexnet/deploy.prototxt|"
  "${shared}/conformance/bvlc/models/bvlc_reference_caffenet/deploy.prototxt|"
  "${shared}/conformance/bvlc/models/bvlc_googlenet/deploy.prototxt|"
  "${shared}/conformance/weights/mtcnn_pnet/det1.prototxt|"
)
total_ms() {  # prints "forward backward" from a `cortado time` log
  awk '$1 == "TOTAL" { print $2, $3 }' "$1"
}
if (( timing )); then
  echo
  echo "== cortado time: ms per iteration (forward / backward), batch as in the prototxt =="
  printf "%-34s %19s %19s %9s\n" "net" "CPU fwd/bwd" "GPU fwd/bwd" "speed-up"
  for entry in "${nets[@]}"; do
    model=${entry%%|*} shape=${entry#*|}
    name=$(basename "$(dirname "${model}")")/$(basename "${model}" .prototxt)
    flags=(--model="${model}" --stub_data)
    [[ -n "${shape}" ]] && flags+=(--stub_shape="${shape}")
    log="${out}/time_$(echo "${name}" | tr '/' '_')"
    build/cortado time "${flags[@]}" --iterations=3 > "${log}_cpu.log" 2>&1
    build/cortado time "${flags[@]}" --iterations=20 --gpu=0 > "${log}_gpu.log" 2>&1
    read -r cf cb <<< "$(total_ms "${log}_cpu.log")"
    read -r gf gb <<< "$(total_ms "${log}_gpu.log")"
    awk -v n="${name}" -v cf="${cf:-nan}" -v cb="${cb:-nan}" -v gf="${gf:-nan}" -v gb="${gb:-nan}" \
      'BEGIN { printf "%-34s %9.2f/%-9.2f %9.3f/%-9.3f %8.1fx\n", n, cf, cb, gf, gb,
               (gf + gb > 0) ? (cf + cb) / (gf + gb) : 0 }'
  done
fi

# --- LeNet training on the GPU, next to PyTorch on the same GPU ---------------
if (( train )); then
  echo
  echo "== LeNet training on GPU 0, ${iterations} iterations (Caffe's recipe; ${bundle}/fashion-mnist"
  echo "   carries the first 20,000 training images and all 10,000 test images) =="
  work=$(mktemp -d)
  sed -e "s|snapshot_prefix: .*|snapshot_prefix: \"${work}/lenet\"|" \
      -e "s|max_iter: .*|max_iter: ${iterations}|" -e "s|snapshot: .*|snapshot: 0|" \
    models/lenet/lenet_solver.prototxt > "${work}/solver.prototxt"
  start=$(date +%s.%N)
  build/cortado train --solver="${work}/solver.prototxt" --gpu=0 > "${out}/train_gpu.log" 2>&1
  end=$(date +%s.%N)
  accuracy=$(grep -o 'Test net output #0: accuracy = [0-9.]*' "${out}/train_gpu.log" | tail -1 |
             awk '{print $NF}')
  wall=$(awk -v s="${start}" -v e="${end}" 'BEGIN { printf "%.1f", e - s }')
  FASHION_MNIST_DIR="${bundle}/fashion-mnist" python3 bench/pytorch_lenet.py "${iterations}" cuda \
    > "${out}/torch_gpu.txt" 2>&1
  torch_wall=$(awk '/^wall time/ {print $NF}' "${out}/torch_gpu.txt")
  torch_accuracy=$(awk '/^final test accuracy/ {print $NF}' "${out}/torch_gpu.txt")
  awk -v it="${iterations}" -v cw="${wall}" -v ca="${accuracy}" -v tw="${torch_wall}" \
      -v ta="${torch_accuracy}" 'BEGIN {
    printf "%-28s %10s %10s\n", "metric", "cortado", "pytorch"
    printf "%-28s %10.1f %10s\n", "wall time (s)", cw, tw
    printf "%-28s %10.1f %10s\n", "iterations/s (incl. tests)", it / cw,
           tw == "" ? "" : sprintf("%.1f", it / tw)
    printf "%-28s %10s %10s\n", "final test accuracy", ca, ta
    if (tw != "") printf "%-28s %10.2f\n", "speed-up over pytorch", tw / cw
  }'
  tail -3 "${out}/train_gpu.log" > "${out}/train_gpu_tail.txt"
fi
