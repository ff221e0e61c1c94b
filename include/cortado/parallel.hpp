// A small fixed thread pool for data-parallel loops in layer kernels.
#ifndef CORTADO_PARALLEL_HPP_
#define CORTADO_PARALLEL_HPP_

#include <cstdint>
#include <functional>

namespace cortado {

// Threads used by ParallelFor and by Gemm: the CORTADO_NUM_THREADS
// environment variable if set, else the number of hardware threads.
int NumThreads();

// Runs body(chunk_begin, chunk_end) over [begin, end) split into at most
// NumThreads() contiguous chunks of at least min_chunk items, the calling
// thread taking one of them. Calls from inside a body (or while another
// thread holds the pool) run serially, so nesting is safe.
void ParallelFor(int64_t begin, int64_t end,
                 const std::function<void(int64_t, int64_t)>& body,
                 int64_t min_chunk = 1);

}  // namespace cortado

#endif  // CORTADO_PARALLEL_HPP_
