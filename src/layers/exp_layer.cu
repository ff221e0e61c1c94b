// Exp's CUDA kernels; exp_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ExpForwardKernel(int64_t n, const float* x, float inner, float outer, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = ExpValue(x[i], inner, outer); }
}

__global__ void ExpBackwardKernel(int64_t n, const float* dy, const float* y, float inner,
                                  float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = ExpGradient(dy[i], y[i], inner); }
}

}  // namespace

void ExpForwardGpu(int64_t n, const float* x, float inner, float outer, float* y) {
  ExpForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, inner, outer, y);
  cuda::CheckLaunch("ExpForwardKernel");
}

void ExpBackwardGpu(int64_t n, const float* dy, const float* y, float inner, float* dx) {
  ExpBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, y, inner, dx);
  cuda::CheckLaunch("ExpBackwardKernel");
}

}  // namespace cortado
