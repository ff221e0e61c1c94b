// MVN's CUDA kernels; mvn_layer.cpp holds the layer, sums rows with
// ChannelSumGpu and calls these element-wise steps.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void MvnCenterKernel(int64_t n, int64_t dim, const float* x, const float* sum,
                                float* y) {
  CORTADO_KERNEL_LOOP(k, n) { y[k] = x[k] - sum[k / dim] / dim; }
}

// y /= std + eps with std = sqrt(squares / dim); the row's first element
// also records std for the backward pass.
__global__ void MvnNormalizeKernel(int64_t n, int64_t dim, const float* squares, float eps,
                                   float* stddev, float* y) {
  CORTADO_KERNEL_LOOP(k, n) {
    const int64_t r = k / dim;
    const float s = sqrtf(squares[r] / dim);
    y[k] /= s + eps;
    if (k % dim == 0) stddev[r] = s;
  }
}

// The CPU's formula; stddev is null without variance normalisation.
__global__ void MvnBackwardKernel(int64_t n, int64_t dim, const float* y, const float* dy,
                                  const float* dy_sum, const float* ydy_sum,
                                  const float* stddev, float eps, float* dx) {
  CORTADO_KERNEL_LOOP(k, n) {
    const int64_t r = k / dim;
    const float dy_mean = dy_sum[r] / dim;
    if (!stddev) {
      dx[k] = dy[k] - dy_mean;
      continue;
    }
    const float divisor = stddev[r] + eps;
    const float ydy_mean = stddev[r] > 0 ? ydy_sum[r] / dim * divisor / stddev[r] : 0.f;
    dx[k] = (dy[k] - dy_mean - y[k] * ydy_mean) * (1.f / divisor);
  }
}

}  // namespace

void MvnCenterGpu(int64_t rows, int64_t dim, const float* x, const float* sum, float* y) {
  const int64_t n = rows * dim;
  if (n <= 0) return;
  MvnCenterKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dim, x, sum, y);
  cuda::CheckLaunch("MvnCenterKernel");
}

void MvnNormalizeGpu(int64_t rows, int64_t dim, const float* squares, float eps, float* stddev,
                     float* y) {
  const int64_t n = rows * dim;
  if (n <= 0) return;
  MvnNormalizeKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dim, squares, eps,
                                                                      stddev, y);
  cuda::CheckLaunch("MvnNormalizeKernel");
}

void MvnBackwardGpu(int64_t rows, int64_t dim, const float* y, const float* dy,
                    const float* dy_sum, const float* ydy_sum, const float* stddev, float eps,
                    float* dx) {
  const int64_t n = rows * dim;
  if (n <= 0) return;
  MvnBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dim, y, dy, dy_sum,
                                                                     ydy_sum, stddev, eps, dx);
  cuda::CheckLaunch("MvnBackwardKernel");
}

}  // namespace cortado
