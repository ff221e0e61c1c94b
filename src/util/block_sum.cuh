// BlockSum: the sum of one value per thread over a thread block, for
// kernels that reduce (a channel's gradient, a loss). Include only from .cu
// files; launch such kernels with cuda::kThreadsPerBlock threads per block.
#ifndef CORTADO_UTIL_BLOCK_SUM_CUH_
#define CORTADO_UTIL_BLOCK_SUM_CUH_

#include "cortado/cuda.hpp"

namespace cortado {

// Every thread of the block must call it; all of them get the sum. A plain
// shared-memory tree: kThreadsPerBlock is a power of two.
template <typename T>
__device__ inline T BlockSum(T value) {
  static_assert((cuda::kThreadsPerBlock & (cuda::kThreadsPerBlock - 1)) == 0,
                "BlockSum needs a power-of-two block");
  __shared__ T partial[cuda::kThreadsPerBlock];
  __syncthreads();  // a previous call's readers are done with partial[0]
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int stride = cuda::kThreadsPerBlock / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  return partial[0];
}

}  // namespace cortado

#endif  // CORTADO_UTIL_BLOCK_SUM_CUH_
