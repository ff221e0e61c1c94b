// ELU's CUDA kernels; elu_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void EluForwardKernel(int64_t n, const float* x, float alpha, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = EluValue(x[i], alpha); }
}

__global__ void EluBackwardKernel(int64_t n, const float* dy, const float* x, const float* y,
                                  float alpha, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = EluGradient(dy[i], x[i], y[i], alpha); }
}

}  // namespace

void EluForwardGpu(int64_t n, const float* x, float alpha, float* y) {
  EluForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, alpha, y);
  cuda::CheckLaunch("EluForwardKernel");
}

void EluBackwardGpu(int64_t n, const float* dy, const float* x, const float* y, float alpha,
                    float* dx) {
  EluBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, x, y, alpha, dx);
  cuda::CheckLaunch("EluBackwardKernel");
}

}  // namespace cortado
