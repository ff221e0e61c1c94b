// Permute's CUDA kernels; permute_layer.cpp holds the layer and its offset
// table (built once per shape on the host) and calls these.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void PermuteForwardKernel(int64_t count, const int64_t* source, const float* x,
                                     float* y) {
  CORTADO_KERNEL_LOOP(j, count) { y[j] = x[source[j]]; }
}

// A permutation: every bottom element has exactly one source entry.
__global__ void PermuteBackwardKernel(int64_t count, const int64_t* source, const float* dy,
                                      float* dx) {
  CORTADO_KERNEL_LOOP(j, count) { dx[source[j]] = dy[j]; }
}

}  // namespace

void PermuteForwardGpu(int64_t count, const int64_t* source, const float* x, float* y) {
  PermuteForwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, source, x, y);
  cuda::CheckLaunch("PermuteForwardKernel");
}

void PermuteBackwardGpu(int64_t count, const int64_t* source, const float* dy, float* dx) {
  PermuteBackwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, source, dy,
                                                                             dx);
  cuda::CheckLaunch("PermuteBackwardKernel");
}

}  // namespace cortado
