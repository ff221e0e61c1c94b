// The process's one threading runtime (OpenMP) for data-parallel loops in
// layer kernels, shared with oneDNN and the Gemm splits.
#ifndef CORTADO_PARALLEL_HPP_
#define CORTADO_PARALLEL_HPP_

#include <cstdint>
#include <functional>

namespace cortado {

// Threads used by ParallelFor, Gemm and oneDNN: SetNumThreads' value if it
// was called, else the CORTADO_NUM_THREADS environment variable, else
// OMP_NUM_THREADS, else the number of hardware threads.
int NumThreads();
// Overrides NumThreads() (the --threads flag). n < 1 restores the default.
void SetNumThreads(int n);

// Runs body(chunk_begin, chunk_end) over [begin, end) split into at most
// NumThreads() contiguous chunks of at least min_chunk items, the calling
// thread taking one of them. Calls from inside a body run serially, so
// nesting is safe.
void ParallelFor(int64_t begin, int64_t end,
                 const std::function<void(int64_t, int64_t)>& body,
                 int64_t min_chunk = 1);

// ParallelFor with a grain for cheap element-wise work: chunks of at least
// kElementGrain items, so small blobs stay on one thread.
constexpr int64_t kElementGrain = 32768;
template <typename Body>
void ParallelForElements(int64_t n, Body&& body) {
  ParallelFor(0, n, body, kElementGrain);
}

// ParallelFor over `rows` rows of `row_size` contiguous elements each (a
// layer's outer x channel planes), in chunks of at least kElementGrain
// elements: body(row_begin, row_end).
template <typename Body>
void ParallelForRows(int64_t rows, int64_t row_size, Body&& body) {
  const int64_t min_rows =
      row_size >= kElementGrain ? 1 : kElementGrain / (row_size > 0 ? row_size : 1);
  ParallelFor(0, rows, body, min_rows);
}

}  // namespace cortado

#endif  // CORTADO_PARALLEL_HPP_
