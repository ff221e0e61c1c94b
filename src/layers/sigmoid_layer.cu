// Sigmoid's CUDA kernels; sigmoid_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void SigmoidForwardKernel(int64_t n, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = SigmoidValue(x[i]); }
}

__global__ void SigmoidBackwardKernel(int64_t n, const float* dy, const float* y, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = SigmoidGradient(dy[i], y[i]); }
}

}  // namespace

void SigmoidForwardGpu(int64_t n, const float* x, float* y) {
  SigmoidForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, y);
  cuda::CheckLaunch("SigmoidForwardKernel");
}

void SigmoidBackwardGpu(int64_t n, const float* dy, const float* y, float* dx) {
  SigmoidBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, y, dx);
  cuda::CheckLaunch("SigmoidBackwardKernel");
}

}  // namespace cortado
