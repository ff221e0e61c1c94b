#!/usr/bin/env bash
# Packs a build with `cpack -G DEB` and runs what the package installs,
# unpacked with dpkg -x into a temporary folder (nothing is installed on this
# machine): `cortado layers`, and LeNet (the installed recipe) converted from
# a small synthetic MNIST-format set by the installed convert_mnist and
# trained for a few iterations by the installed cortado.
#
#   scripts/check_deb.sh [build-dir]      (the build must be complete: cpack
#                                          builds the `all` target first)
set -euo pipefail

build_dir="$(cd "${1:-build}" && pwd)"
(cd "${build_dir}" && cpack -G DEB >/dev/null)
deb="$(ls -t "${build_dir}"/cortado_*.deb | head -1)"
echo "package: ${deb} ($(du -h "${deb}" | cut -f1))"
echo "Depends: $(dpkg-deb -f "${deb}" Depends)"

root="$(mktemp -d)"
trap 'rm -rf "${root}"' EXIT
dpkg -x "${deb}" "${root}"
# The tools find libcortado.so through their RPATH; LD_LIBRARY_PATH stands
# in for the system library path the package would install into.
export LD_LIBRARY_PATH="${root}/usr/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
bin="${root}/usr/bin"
"${bin}/cortado" layers | grep -q '^Convolution ' || { echo "cortado layers lacks Convolution"; exit 1; }
echo "cortado layers: $("${bin}/cortado" layers | wc -l) types"

# LeNet's recipe reads models/lenet/... and data/fashion_mnist/... from the
# working folder: lay those out with the installed files and synthetic data.
work="${root}/work"
mkdir -p "${work}/models" "${work}/data/fashion_mnist"
ln -s "${root}/usr/share/cortado/models/lenet" "${work}/models/lenet"
/usr/bin/python3 - "${work}" <<'PY'
import random, struct, sys
random.seed(1)
n = 128
labels = [random.randrange(10) for _ in range(n)]
# Each class lights its own band of rows, so the net has something to learn.
pixels = bytearray()
for label in labels:
    for row in range(28):
        for col in range(28):
            lit = 2 * label <= row < 2 * label + 4
            pixels.append(200 if lit else random.randrange(40))
with open(sys.argv[1] + '/images.idx', 'wb') as f:
    f.write(struct.pack('>iiii', 2051, n, 28, 28) + bytes(pixels))
with open(sys.argv[1] + '/labels.idx', 'wb') as f:
    f.write(struct.pack('>ii', 2049, n) + bytes(labels))
PY
for split in train test; do
  "${bin}/convert_mnist" "${work}/images.idx" "${work}/labels.idx" \
    "${work}/data/fashion_mnist/fashion_mnist_${split}_lmdb" >/dev/null
done
cat > "${work}/solver.prototxt" <<'SOLVER'
net: "models/lenet/lenet_train_test.prototxt"
test_iter: 1
test_interval: 10
base_lr: 0.01
momentum: 0.9
lr_policy: "fixed"
display: 1
max_iter: 10
snapshot_after_train: false
random_seed: 1
SOLVER
(cd "${work}" && "${bin}/cortado" train --solver=solver.prototxt 2>&1) | tee "${work}/train.log" |
  grep -E 'Iteration (0|10)\b.*loss|Test net output' || true
grep -q 'Optimization Done' "${work}/train.log" || { echo "LeNet training failed"; tail -20 "${work}/train.log"; exit 1; }
echo "the unpacked package trained LeNet for 10 iterations"
