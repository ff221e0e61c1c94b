// BNLL's CUDA kernels; bnll_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void BnllForwardKernel(int64_t n, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = BnllValue(x[i]); }
}

__global__ void BnllBackwardKernel(int64_t n, const float* dy, const float* x, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = BnllGradient(dy[i], x[i]); }
}

}  // namespace

void BnllForwardGpu(int64_t n, const float* x, float* y) {
  BnllForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, y);
  cuda::CheckLaunch("BnllForwardKernel");
}

void BnllBackwardGpu(int64_t n, const float* dy, const float* x, float* dx) {
  BnllBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, x, dx);
  cuda::CheckLaunch("BnllBackwardKernel");
}

}  // namespace cortado
