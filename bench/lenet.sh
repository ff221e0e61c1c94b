#!/usr/bin/env bash
# Reproduces the LeNet numbers: per-layer forward/backward time (`cortado time`)
# and the full 10,000-iteration Fashion-MNIST training run, printed as a table.
# Usage: bench/lenet.sh [--time-only]   (run ./scripts/setup.sh --no-train first)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tool=build/cortado
[[ -x ${tool} ]] || { echo "bench/lenet.sh: build first (./scripts/setup.sh --no-train)" >&2; exit 1; }

echo "== cortado time, LeNet train net, batch 64, 100 iterations =="
"${tool}" time --model=models/lenet/lenet_train_test.prototxt --iterations=100 2>/dev/null

[[ "${1:-}" == "--time-only" ]] && exit 0

echo
echo "== LeNet training, 10,000 iterations (Caffe's recipe), test every 500 =="
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
sed "s|snapshot_prefix: .*|snapshot_prefix: \"${work}/lenet\"|" \
  models/lenet/lenet_solver.prototxt > "${work}/solver.prototxt"
start=$(date +%s.%N)
"${tool}" train --solver="${work}/solver.prototxt" > "${work}/train.log" 2>&1
end=$(date +%s.%N)
accuracy=$(grep -o 'Test net output #0: accuracy = [0-9.]*' "${work}/train.log" | tail -1 | awk '{print $NF}')
awk -v s="${start}" -v e="${end}" -v a="${accuracy}" 'BEGIN {
  wall = e - s
  printf "%-28s %10s\n", "metric", "value"
  printf "%-28s %10.1f\n", "wall time (s)", wall
  printf "%-28s %10.1f\n", "iterations/s (incl. tests)", 10000 / wall
  printf "%-28s %10s\n", "final test accuracy", a
}'
