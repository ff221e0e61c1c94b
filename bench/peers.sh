#!/usr/bin/env bash
# Runs bench/peers.py (Cortado vs OpenCV dnn vs PyTorch on CPU) with the built
# Python module on the path; every flag goes through, e.g. --quick, --nets lenet.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHONPATH="${repo_root}/build/python${PYTHONPATH:+:${PYTHONPATH}}"
exec /usr/bin/python3 "${repo_root}/bench/peers.py" "$@"
