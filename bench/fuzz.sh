#!/usr/bin/env bash
# Builds Cortado's libFuzzer targets (clang, AddressSanitizer +
# UndefinedBehaviorSanitizer) and runs each for a while, printing a table of
# executions, coverage and crashes. Corpora grow across runs under
# <build-dir>/fuzz/corpus; a crashing input is saved under
# <build-dir>/fuzz/crashes and the script exits 1.
#
#   bench/fuzz.sh                     every target, 600 s each
#   bench/fuzz.sh --seconds 30        what CI runs
#   bench/fuzz.sh --jobs 2 datum      targets to run, two at a time
#
# Targets: net_prototxt caffemodel solverstate datum mean_file mnist_idx.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${repo_root}/build-sanitize"
seconds=600
jobs=1
build=1
targets=()
while (( $# > 0 )); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all_targets=(net_prototxt caffemodel solverstate datum mean_file mnist_idx)
(( ${#targets[@]} > 0 )) || targets=("${all_targets[@]}")

if (( build )); then
  "${repo_root}/scripts/build_sanitize.sh" "${build_dir}" \
    $(printf '%s_fuzzer ' "${targets[@]}")
fi

fuzz_dir="${build_dir}/fuzz"
conformance="${repo_root}/../shared/conformance"
mkdir -p "${fuzz_dir}/tmp" "${fuzz_dir}/crashes" "${fuzz_dir}/logs"

# Seeds: each target's own valid input, plus real files of its kind.
seed_corpus() {
  local name="$1" seeds="${fuzz_dir}/seeds/$1"
  mkdir -p "${seeds}"
  CORTADO_FUZZ_SEED_OUT="${seeds}/valid" "${fuzz_dir}/${name}_fuzzer" >/dev/null 2>&1
  local files=()
  case "${name}" in
    net_prototxt)
      # Small nets only: a ResNet-50 fills 25M weights per execution.
      mapfile -t files < <(find "${conformance}" "${repo_root}/models" "${repo_root}/examples" \
                             -name '*.prototxt' ! -name '*solver*' -size -12k 2>/dev/null) ;;
    caffemodel)
      mapfile -t files < <(find "${conformance}" "${repo_root}/models" -name '*.caffemodel' \
                             -size -256k 2>/dev/null) ;;
  esac
  local f
  for f in "${files[@]}"; do
    cp "${f}" "${seeds}/$(echo "${f}" | sha1sum | cut -c1-12)-$(basename "${f}")"
  done
  echo "${seeds}"
}

# Allocations above 512 MiB fail as they would on a small machine, so Cortado
# must report them; libFuzzer's own limits sit above that.
export ASAN_OPTIONS="allocator_may_return_null=1:max_allocation_size_mb=512:detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export OPENCV_IO_MAX_IMAGE_PIXELS=4194304
export TMPDIR="${fuzz_dir}/tmp"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 CORTADO_NUM_THREADS=1

run_target() {
  local name="$1" seeds corpus log
  seeds="$(seed_corpus "${name}")"
  corpus="${fuzz_dir}/corpus/${name}"
  log="${fuzz_dir}/logs/${name}.log"
  mkdir -p "${corpus}"
  local rc=0
  "${fuzz_dir}/${name}_fuzzer" -max_total_time="${seconds}" -timeout=60 \
      -rss_limit_mb=3072 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="${fuzz_dir}/crashes/${name}-" \
      "${corpus}" "${seeds}" >"${log}" 2>&1 || rc=$?
  echo "${rc}" >"${log}.rc"
}

pids=()
for name in "${targets[@]}"; do
  [[ -x "${fuzz_dir}/${name}_fuzzer" ]] || { echo "fuzz.sh: no target ${name}_fuzzer in ${fuzz_dir}" >&2; exit 2; }
  run_target "${name}" &
  pids+=($!)
  if (( ${#pids[@]} >= jobs )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
wait

status=0
printf '%-14s %8s %12s %9s %8s %8s %8s  %s\n' target seconds executions exec/s edges features corpus result
for name in "${targets[@]}"; do
  log="${fuzz_dir}/logs/${name}.log"
  rc="$(cat "${log}.rc")"
  execs="$(grep 'stat::number_of_executed_units:' "${log}" | awk '{print $2}' | tail -1)"
  rate="$(grep 'stat::average_exec_per_sec:' "${log}" | awk '{print $2}' | tail -1)"
  last="$(grep -E '^#[0-9]+' "${log}" | tail -1)"
  edges="$(echo "${last}" | grep -o 'cov: [0-9]*' | awk '{print $2}')"
  features="$(echo "${last}" | grep -o 'ft: [0-9]*' | awk '{print $2}')"
  corpus="$(echo "${last}" | grep -o 'corp: [0-9]*' | awk '{print $2}')"
  result=ok
  if [[ "${rc}" != 0 ]]; then
    result="FAILED (exit ${rc}; see ${log})"
    status=1
  fi
  printf '%-14s %8s %12s %9s %8s %8s %8s  %s\n' "${name}" "${seconds}" "${execs:-?}" \
    "${rate:-?}" "${edges:-?}" "${features:-?}" "${corpus:-?}" "${result}"
done
exit "${status}"
