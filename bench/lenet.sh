#!/usr/bin/env bash
# Reproduces the LeNet numbers: per-layer forward/backward time (`cortado time`)
# and the Fashion-MNIST training run with Caffe's recipe, next to the same run
# in PyTorch (Debian's python3-torch) when it is installed, printed as a table.
# Usage: bench/lenet.sh [--time-only] [--iterations=N]   (default 10,000)
# Run ./scripts/setup.sh --no-train first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# As bench/peers.py does: Cortado and PyTorch both run on libgomp, each on
# its default wait policy whatever this shell exports (passive waiting costs
# a wake-up per parallel region: LeNet's 1,000 iterations 8.5 s against 9.6).
unset OMP_WAIT_POLICY GOMP_SPINCOUNT
tool=build/cortado
[[ -x ${tool} ]] || { echo "bench/lenet.sh: build first (./scripts/setup.sh --no-train)" >&2; exit 1; }
iterations=10000
time_only=0
for arg in "$@"; do
  case "${arg}" in
    --time-only) time_only=1 ;;
    --iterations=*) iterations="${arg#*=}" ;;
    *) echo "bench/lenet.sh: unknown option ${arg}" >&2; exit 2 ;;
  esac
done

echo "== cortado time, LeNet train net, batch 64, 100 iterations =="
"${tool}" time --model=models/lenet/lenet_train_test.prototxt --iterations=100 2>/dev/null
(( time_only )) && exit 0

echo
echo "== LeNet training, ${iterations} iterations (Caffe's recipe), test every 500 on 10,000 images =="
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
sed -e "s|snapshot_prefix: .*|snapshot_prefix: \"${work}/lenet\"|" \
    -e "s|max_iter: .*|max_iter: ${iterations}|" -e "s|snapshot: .*|snapshot: 0|" \
  models/lenet/lenet_solver.prototxt > "${work}/solver.prototxt"
start=$(date +%s.%N)
"${tool}" train --solver="${work}/solver.prototxt" > "${work}/train.log" 2>&1
end=$(date +%s.%N)
accuracy=$(grep -o 'Test net output #0: accuracy = [0-9.]*' "${work}/train.log" | tail -1 | awk '{print $NF}')
cortado_wall=$(awk -v s="${start}" -v e="${end}" 'BEGIN { printf "%.1f", e - s }')

torch_wall="" torch_accuracy=""
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 bench/pytorch_lenet.py "${iterations}" > "${work}/torch.txt"
  torch_wall=$(awk '/^wall time/ {print $NF}' "${work}/torch.txt")
  torch_accuracy=$(awk '/^final test accuracy/ {print $NF}' "${work}/torch.txt")
else
  echo "(python3-torch not installed: no PyTorch column)"
fi
awk -v it="${iterations}" -v cw="${cortado_wall}" -v ca="${accuracy}" \
    -v tw="${torch_wall}" -v ta="${torch_accuracy}" 'BEGIN {
  printf "%-28s %10s %10s\n", "metric", "cortado", "pytorch"
  printf "%-28s %10.1f %10s\n", "wall time (s)", cw, tw
  printf "%-28s %10.1f %10s\n", "iterations/s (incl. tests)", it / cw,
         tw == "" ? "" : sprintf("%.1f", it / tw)
  printf "%-28s %10s %10s\n", "final test accuracy", ca, ta
  if (tw != "") printf "%-28s %10.2f\n", "speed-up over pytorch", tw / cw
}'
