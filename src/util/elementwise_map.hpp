// ElementwiseMap: one element-wise loop body for both devices. The body is a
// functor whose CORTADO_HD operator()(i) handles element i; on the CPU it runs
// as a parallel loop on the process's threads, on a GPU as a CUDA kernel
// (elementwise_map.cuh, instantiated per functor in a .cu file).
#ifndef CORTADO_UTIL_ELEMENTWISE_MAP_HPP_
#define CORTADO_UTIL_ELEMENTWISE_MAP_HPP_

#include <cstdint>

#include "cortado/common.hpp"
#include "cortado/parallel.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA
// Defined in elementwise_map.cuh; each functor's .cu instantiates it with
// CORTADO_INSTANTIATE_ELEMENTWISE_MAP.
template <typename Op>
void ElementwiseMapGpu(int64_t n, Op op);
#endif

// Calls op(i) for every i in [0, n): on the GPU when on_cuda, else on the
// CPU's threads (chunks of kElementGrain, so small blobs stay on one).
template <typename Op>
void ElementwiseMap(bool on_cuda, int64_t n, const Op& op) {
  if (on_cuda) {
#ifdef CORTADO_WITH_CUDA
    ElementwiseMapGpu(n, op);
    return;
#else
    CHECK(false) << "a CUDA element-wise map in a build without CUDA";
#endif
  }
  ParallelForElements(n, [&op](int64_t begin, int64_t end) {
    // A local copy keeps the functor's pointers in registers, so the loop
    // vectorises.
    const Op local = op;
    for (int64_t i = begin; i < end; ++i) local(i);
  });
}

}  // namespace cortado

#endif  // CORTADO_UTIL_ELEMENTWISE_MAP_HPP_
