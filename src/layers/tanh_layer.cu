// TanH's CUDA kernels; tanh_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void TanhForwardKernel(int64_t n, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = TanhValue(x[i]); }
}

__global__ void TanhBackwardKernel(int64_t n, const float* dy, const float* y, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = TanhGradient(dy[i], y[i]); }
}

}  // namespace

void TanhForwardGpu(int64_t n, const float* x, float* y) {
  TanhForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, y);
  cuda::CheckLaunch("TanhForwardKernel");
}

void TanhBackwardGpu(int64_t n, const float* dy, const float* y, float* dx) {
  TanhBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, y, dx);
  cuda::CheckLaunch("TanhBackwardKernel");
}

}  // namespace cortado
