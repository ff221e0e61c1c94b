// The row-wise kernels LSTM and RNN share on the device.
#include "recurrent_gpu.hpp"

#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void AddRowBiasKernel(int64_t n, int64_t cols, const float* bias, float* y) {
  CORTADO_KERNEL_LOOP(k, n) { y[k] += bias[k % cols]; }
}

__global__ void ScaleRowsKernel(int64_t n, int64_t cols, const float* scale, const float* x,
                                float* y) {
  CORTADO_KERNEL_LOOP(k, n) { y[k] = scale[k / cols] * x[k]; }
}

}  // namespace

void AddRowBiasGpu(int64_t rows, int64_t cols, const float* bias, float* y) {
  const int64_t n = rows * cols;
  if (n <= 0) return;
  AddRowBiasKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, cols, bias, y);
  cuda::CheckLaunch("AddRowBiasKernel");
}

void ScaleRowsGpu(int64_t rows, int64_t cols, const float* scale, const float* x, float* y) {
  const int64_t n = rows * cols;
  if (n <= 0) return;
  ScaleRowsKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, cols, scale, x, y);
  cuda::CheckLaunch("ScaleRowsKernel");
}

}  // namespace cortado
