// RNN's element-wise CUDA kernels; rnn_layer.cpp holds the layer, runs the
// GEMMs with gpu::Gemm and calls these.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// y = tanh(y + (bias ? bias[k % cols] : 0)).
__global__ void RnnTanhKernel(int64_t n, int64_t cols, const float* bias, float* y) {
  CORTADO_KERNEL_LOOP(k, n) { y[k] = tanhf(bias ? y[k] + bias[k % cols] : y[k]); }
}

// d = (d + (add ? add[k] : 0)) * (1 - y^2): back through a tanh.
__global__ void RnnTanhGradientKernel(int64_t n, const float* y, const float* add,
                                      const float* dy, float* d) {
  CORTADO_KERNEL_LOOP(k, n) {
    const float g = add ? dy[k] + add[k] : dy[k];
    d[k] = g * (1 - y[k] * y[k]);
  }
}

}  // namespace

void RnnTanhGpu(int64_t rows, int64_t cols, const float* bias, float* y) {
  const int64_t n = rows * cols;
  if (n <= 0) return;
  RnnTanhKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, cols, bias, y);
  cuda::CheckLaunch("RnnTanhKernel");
}

// d = (dy + add) * (1 - y^2); add may be null, d may be dy.
void RnnTanhGradientGpu(int64_t n, const float* y, const float* add, const float* dy,
                        float* d) {
  if (n <= 0) return;
  RnnTanhGradientKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, y, add, dy, d);
  cuda::CheckLaunch("RnnTanhGradientKernel");
}

}  // namespace cortado
