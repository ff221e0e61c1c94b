#!/usr/bin/env bash
# Converts the Debian package dataset-fashion-mnist into the LMDBs the
# examples read: data/fashion_mnist/fashion_mnist_{train,test}_lmdb.
# Usage: data/get_fashion_mnist.sh [path/to/convert_mnist]  (default build/convert_mnist)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
convert="${1:-${repo_root}/build/convert_mnist}"
src_dir="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
out_dir="${repo_root}/data/fashion_mnist"

if [[ ! -x "${convert}" ]]; then
  echo "get_fashion_mnist.sh: ${convert} is not an executable; build it first" \
       "(cmake --build build --target convert_mnist) or pass its path" >&2
  exit 1
fi

# The package ships gzip-compressed files; plain ones work too.
find_idx() {
  local base="$1"
  for candidate in "${src_dir}/${base}" "${src_dir}/${base}.gz"; do
    if [[ -f "${candidate}" ]]; then echo "${candidate}"; return 0; fi
  done
  echo "get_fashion_mnist.sh: ${src_dir}/${base}[.gz] not found;" \
       "install it with: apt-get install dataset-fashion-mnist" >&2
  return 1
}

mkdir -p "${out_dir}"
for split in train t10k; do
  name="${split}"
  [[ "${split}" == t10k ]] && name=test
  db="${out_dir}/fashion_mnist_${name}_lmdb"
  if [[ -d "${db}" ]]; then
    echo "${db} exists; skipping"
    continue
  fi
  images="$(find_idx "${split}-images-idx3-ubyte")"
  labels="$(find_idx "${split}-labels-idx1-ubyte")"
  # Convert beside the target and rename, so an interrupted run never leaves
  # a half-written database that a later run would skip.
  rm -rf "${db}.partial"
  "${convert}" "${images}" "${labels}" "${db}.partial" --backend=lmdb
  mv "${db}.partial" "${db}"
done
echo "Fashion-MNIST LMDBs are in ${out_dir}"
