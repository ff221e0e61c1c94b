// Clip's CUDA kernels; clip_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ClipForwardKernel(int64_t n, const float* x, float lo, float hi, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = ClipValue(x[i], lo, hi); }
}

__global__ void ClipBackwardKernel(int64_t n, const float* dy, const float* x, float lo,
                                   float hi, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = ClipGradient(dy[i], x[i], lo, hi); }
}

}  // namespace

void ClipForwardGpu(int64_t n, const float* x, float lo, float hi, float* y) {
  ClipForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, lo, hi, y);
  cuda::CheckLaunch("ClipForwardKernel");
}

void ClipBackwardGpu(int64_t n, const float* dy, const float* x, float lo, float hi, float* dx) {
  ClipBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, x, lo, hi, dx);
  cuda::CheckLaunch("ClipBackwardKernel");
}

}  // namespace cortado
