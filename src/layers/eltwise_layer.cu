// Eltwise's MAX kernels (SUM and PROD use gpu:: math); eltwise_layer.cpp
// holds the layer. The winner index is kept as a float per element.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// Ties between the first two bottoms go to bottom 1, as on the CPU.
__global__ void EltwiseMaxFirstKernel(int64_t n, const float* a, const float* b, float* y,
                                      float* index) {
  CORTADO_KERNEL_LOOP(j, n) {
    const bool first = a[j] > b[j];
    y[j] = first ? a[j] : b[j];
    index[j] = first ? 0.f : 1.f;
  }
}

// Later bottoms win only when strictly greater.
__global__ void EltwiseMaxNextKernel(int64_t n, const float* x, float which, float* y,
                                     float* index) {
  CORTADO_KERNEL_LOOP(j, n) {
    if (x[j] > y[j]) {
      y[j] = x[j];
      index[j] = which;
    }
  }
}

__global__ void EltwiseMaxBackwardKernel(int64_t n, const float* dy, const float* index,
                                         float which, float* dx) {
  CORTADO_KERNEL_LOOP(j, n) { dx[j] = index[j] == which ? dy[j] : 0.f; }
}

}  // namespace

void EltwiseMaxForwardGpu(int64_t n, const float* const* bottoms, int num_bottoms, float* y,
                          float* index) {
  if (n <= 0) return;
  EltwiseMaxFirstKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, bottoms[0],
                                                                         bottoms[1], y, index);
  cuda::CheckLaunch("EltwiseMaxFirstKernel");
  for (int i = 2; i < num_bottoms; ++i) {
    EltwiseMaxNextKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
        n, bottoms[i], static_cast<float>(i), y, index);
    cuda::CheckLaunch("EltwiseMaxNextKernel");
  }
}

void EltwiseMaxBackwardGpu(int64_t n, const float* dy, const float* index, int which,
                           float* dx) {
  if (n <= 0) return;
  EltwiseMaxBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, dy, index, static_cast<float>(which), dx);
  cuda::CheckLaunch("EltwiseMaxBackwardKernel");
}

}  // namespace cortado
