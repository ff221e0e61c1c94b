// Bias's CUDA kernel; bias_layer.cpp holds the layer and calls it.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void BiasKernel(int64_t n, const float* x, const float* bias, int64_t bias_dim,
                           int64_t inner, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = x[i] + bias[(i / inner) % bias_dim]; }
}

}  // namespace

void BiasForwardGpu(int64_t n, const float* x, const float* bias, int64_t bias_dim,
                    int64_t inner, float* y) {
  if (n <= 0) return;
  BiasKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, bias, bias_dim, inner, y);
  cuda::CheckLaunch("BiasKernel");
}

}  // namespace cortado
