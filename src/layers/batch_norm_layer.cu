// BatchNorm's CUDA kernels; batch_norm_layer.cpp holds the layer, sums per
// channel with ChannelSumGpu and calls these. Blobs are (num, channels,
// spatial); c = (k / spatial) % channels.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// y = (x - shift[c]) * (1 / divisor[c]); either may be null (0 and 1).
__global__ void BatchNormMapKernel(int64_t n, int64_t channels, int64_t spatial,
                                   const float* x, const float* shift, const float* divisor,
                                   float* y) {
  CORTADO_KERNEL_LOOP(k, n) {
    const int64_t c = (k / spatial) % channels;
    const float centred = shift ? x[k] - shift[c] : x[k];
    y[k] = divisor ? centred * (1.f / divisor[c]) : centred;
  }
}

__global__ void BatchNormGlobalStatsKernel(int channels, float eps, const float* mean_sum,
                                           const float* var_sum, const float* weight,
                                           float* mean, float* stddev) {
  CORTADO_KERNEL_LOOP(c, channels) {
    const float factor = weight[0] == 0 ? 0.f : 1.f / weight[0];
    mean[c] = factor * mean_sum[c];
    stddev[c] = sqrtf(factor * var_sum[c] + eps);
  }
}

// From the centred squares: the batch variance, stddev and the running sums
// (one thread per channel; thread 0 also decays the shared weight, which no
// other thread reads).
__global__ void BatchNormBatchStatsKernel(int channels, float m, float eps, float maf,
                                          float correction, const float* mean,
                                          const float* squares, float* stddev,
                                          float* mean_sum, float* var_sum, float* weight) {
  CORTADO_KERNEL_LOOP(c, channels) {
    const float variance = squares[c] / m;
    stddev[c] = sqrtf(variance + eps);
    mean_sum[c] = maf * mean_sum[c] + mean[c];
    var_sum[c] = maf * var_sum[c] + correction * variance;
    if (c == 0) weight[0] = weight[0] * maf + 1.f;
  }
}

// dx = (dy - mean(dy) - mean(dy * y) * y) / stddev.
__global__ void BatchNormBackwardKernel(int64_t n, int64_t channels, int64_t spatial, float m,
                                        const float* y, const float* dy, const float* dy_sum,
                                        const float* dyy_sum, const float* stddev, float* dx) {
  CORTADO_KERNEL_LOOP(k, n) {
    const int64_t c = (k / spatial) % channels;
    dx[k] = (dy[k] - dy_sum[c] / m - dyy_sum[c] / m * y[k]) * (1.f / stddev[c]);
  }
}

}  // namespace

void BatchNormMapGpu(int64_t n, int64_t channels, int64_t spatial, const float* x,
                     const float* shift, const float* divisor, float* y) {
  if (n <= 0) return;
  BatchNormMapKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, channels, spatial, x,
                                                                      shift, divisor, y);
  cuda::CheckLaunch("BatchNormMapKernel");
}

void BatchNormGlobalStatsGpu(int channels, float eps, const float* mean_sum,
                             const float* var_sum, const float* weight, float* mean,
                             float* stddev) {
  if (channels <= 0) return;
  BatchNormGlobalStatsKernel<<<cuda::BlocksFor(channels), cuda::kThreadsPerBlock>>>(
      channels, eps, mean_sum, var_sum, weight, mean, stddev);
  cuda::CheckLaunch("BatchNormGlobalStatsKernel");
}

void BatchNormBatchStatsGpu(int channels, float m, float eps, float maf, float correction,
                            const float* mean, const float* squares, float* stddev,
                            float* mean_sum, float* var_sum, float* weight) {
  if (channels <= 0) return;
  BatchNormBatchStatsKernel<<<cuda::BlocksFor(channels), cuda::kThreadsPerBlock>>>(
      channels, m, eps, maf, correction, mean, squares, stddev, mean_sum, var_sum, weight);
  cuda::CheckLaunch("BatchNormBatchStatsKernel");
}

void BatchNormBackwardGpu(int64_t n, int64_t channels, int64_t spatial, float m,
                          const float* y, const float* dy, const float* dy_sum,
                          const float* dyy_sum, const float* stddev, float* dx) {
  if (n <= 0) return;
  BatchNormBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, channels, spatial, m, y, dy, dy_sum, dyy_sum, stddev, dx);
  cuda::CheckLaunch("BatchNormBackwardKernel");
}

}  // namespace cortado
