// The CUDA side of ElementwiseMap (elementwise_map.hpp): a grid-stride kernel
// over one functor. Include only from .cu files.
#ifndef CORTADO_UTIL_ELEMENTWISE_MAP_CUH_
#define CORTADO_UTIL_ELEMENTWISE_MAP_CUH_

#include "cortado/cuda.hpp"
#include "elementwise_map.hpp"

namespace cortado {

template <typename Op>
__global__ void ElementwiseMapKernel(int64_t n, Op op) {
  CORTADO_KERNEL_LOOP(i, n) { op(i); }
}

template <typename Op>
void ElementwiseMapGpu(int64_t n, Op op) {
  if (n == 0) return;
  ElementwiseMapKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, op);
  cuda::CheckLaunch("ElementwiseMapKernel");
}

}  // namespace cortado

// Compiles ElementwiseMapGpu for one functor type, for the .cpp files that
// call ElementwiseMap with it.
#define CORTADO_INSTANTIATE_ELEMENTWISE_MAP(...) \
  template void ::cortado::ElementwiseMapGpu<__VA_ARGS__>(int64_t, __VA_ARGS__)

#endif  // CORTADO_UTIL_ELEMENTWISE_MAP_CUH_
