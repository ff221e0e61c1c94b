// Swish's CUDA kernels; swish_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void SwishForwardKernel(int64_t n, const float* x, float half_beta, float* sigmoid,
                                   float* y) {
  CORTADO_KERNEL_LOOP(i, n) {
    const float s = SwishSigmoid(x[i], half_beta);
    sigmoid[i] = s;
    y[i] = x[i] * s;  // in place, y is x: read x first
  }
}

__global__ void SwishBackwardKernel(int64_t n, const float* dy, const float* y,
                                    const float* sigmoid, float beta, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = SwishGradient(dy[i], y[i], sigmoid[i], beta); }
}

}  // namespace

void SwishForwardGpu(int64_t n, const float* x, float half_beta, float* sigmoid, float* y) {
  SwishForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, half_beta, sigmoid,
                                                                      y);
  cuda::CheckLaunch("SwishForwardKernel");
}

void SwishBackwardGpu(int64_t n, const float* dy, const float* y, const float* sigmoid,
                      float beta, float* dx) {
  SwishBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, y, sigmoid, beta,
                                                                       dx);
  cuda::CheckLaunch("SwishBackwardKernel");
}

}  // namespace cortado
