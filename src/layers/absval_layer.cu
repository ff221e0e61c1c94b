// AbsVal's CUDA kernels; absval_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void AbsValForwardKernel(int64_t n, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = AbsValValue(x[i]); }
}

__global__ void AbsValBackwardKernel(int64_t n, const float* dy, const float* x, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = AbsValGradient(dy[i], x[i]); }
}

}  // namespace

void AbsValForwardGpu(int64_t n, const float* x, float* y) {
  AbsValForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, y);
  cuda::CheckLaunch("AbsValForwardKernel");
}

void AbsValBackwardGpu(int64_t n, const float* dy, const float* x, float* dx) {
  AbsValBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, x, dx);
  cuda::CheckLaunch("AbsValBackwardKernel");
}

}  // namespace cortado
