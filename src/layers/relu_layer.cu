// ReLU's CUDA kernels; relu_layer.cpp holds the layer and calls these.
#include "cortado/cuda.hpp"
#include "relu_math.hpp"

namespace cortado {
namespace {

__global__ void ReluForwardKernel(int64_t n, const float* x, float slope, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = ReluValue(x[i], slope); }
}

__global__ void ReluBackwardKernel(int64_t n, const float* dy, const float* sign_source,
                                   float slope, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = ReluGradient(dy[i], sign_source[i], slope); }
}

}  // namespace

void ReluForwardGpu(int64_t n, const float* x, float slope, float* y) {
  ReluForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, slope, y);
  cuda::CheckLaunch("ReluForwardKernel");
}

void ReluBackwardGpu(int64_t n, const float* dy, const float* sign_source, float slope,
                     float* dx) {
  ReluBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, sign_source, slope,
                                                                      dx);
  cuda::CheckLaunch("ReluBackwardKernel");
}

}  // namespace cortado
