// ParallelFor on OpenMP: the runtime oneDNN brings (Debian builds it on
// libgomp), so layers, Gemm splits and oneDNN primitives share one team of
// threads instead of two pools spinning against each other.
#include "cortado/parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <thread>

namespace cortado {
namespace {

int DefaultThreads() {
  for (const char* name : {"CORTADO_NUM_THREADS", "OMP_NUM_THREADS"}) {
    if (const char* env = std::getenv(name)) {
      const int n = std::atoi(env);
      if (n > 0) return n;
    }
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

std::atomic<int> chosen_threads{0};  // 0: not chosen yet

}  // namespace

int NumThreads() {
  int n = chosen_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    SetNumThreads(0);
    n = chosen_threads.load(std::memory_order_relaxed);
  }
  return n;
}

void SetNumThreads(int n) {
  if (n < 1) n = DefaultThreads();
  chosen_threads.store(n, std::memory_order_relaxed);
  // oneDNN sizes its parallel regions by omp_get_max_threads().
  omp_set_num_threads(n);
}

void ParallelFor(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& body,
                 int64_t min_chunk) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int64_t chunks = std::min<int64_t>(NumThreads(), n / std::max<int64_t>(1, min_chunk));
  if (chunks <= 1 || omp_in_parallel()) {
    body(begin, end);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    // The team may be smaller than asked (OMP_THREAD_LIMIT, nesting).
    const int64_t team = omp_get_num_threads();
    const int64_t k = omp_get_thread_num();
    const int64_t lo = begin + n * k / team;
    const int64_t hi = begin + n * (k + 1) / team;
    if (lo < hi) body(lo, hi);
  }
}

}  // namespace cortado
