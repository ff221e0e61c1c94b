// PReLU's CUDA kernels; prelu_layer.cpp holds the layer and calls these.
// x is num x channels x dim; one slope per channel, or one for all
// (slope_count 1).
#include "activation_math.hpp"
#include "../util/block_sum.cuh"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__device__ inline float SlopeAt(const float* slopes, int slope_count, int64_t i, int channels,
                                int64_t dim) {
  return slopes[slope_count == 1 ? 0 : (i / dim) % channels];
}

__global__ void PreluForwardKernel(int64_t n, int channels, int64_t dim, const float* x,
                                   const float* slopes, int slope_count, float* y) {
  CORTADO_KERNEL_LOOP(i, n) {
    y[i] = PreluValue(x[i], SlopeAt(slopes, slope_count, i, channels, dim));
  }
}

__global__ void PreluBackwardKernel(int64_t n, int channels, int64_t dim, const float* dy,
                                    const float* x, const float* slopes, int slope_count,
                                    float* dx) {
  CORTADO_KERNEL_LOOP(i, n) {
    dx[i] = PreluGradient(dy[i], x[i], SlopeAt(slopes, slope_count, i, channels, dim));
  }
}

// One block per slope: block b sums the elements of channel b (or, with a
// shared slope, all elements) and adds the sum to slope_diff[b].
__global__ void PreluSlopeBackwardKernel(int64_t num, int channels, int64_t dim,
                                         const float* dy, const float* x, float* slope_diff) {
  const bool shared = gridDim.x == 1;
  const int64_t b = blockIdx.x;
  const int64_t count = shared ? num * channels * dim : num * dim;
  float sum = 0;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t i = shared ? j : ((j / dim) * channels + b) * dim + j % dim;
    sum += PreluSlopeGradient(dy[i], x[i]);
  }
  sum = BlockSum(sum);
  if (threadIdx.x == 0) slope_diff[b] += sum;
}

}  // namespace

void PreluForwardGpu(int64_t num, int channels, int64_t dim, const float* x,
                     const float* slopes, int slope_count, float* y) {
  const int64_t n = num * channels * dim;
  PreluForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, channels, dim, x, slopes,
                                                                      slope_count, y);
  cuda::CheckLaunch("PreluForwardKernel");
}

void PreluBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy, const float* x,
                      const float* slopes, int slope_count, float* dx) {
  const int64_t n = num * channels * dim;
  PreluBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, channels, dim, dy, x,
                                                                       slopes, slope_count, dx);
  cuda::CheckLaunch("PreluBackwardKernel");
}

void PreluSlopeBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy,
                           const float* x, int slope_count, float* slope_diff) {
  if (num * channels * dim == 0) return;
  PreluSlopeBackwardKernel<<<slope_count, cuda::kThreadsPerBlock>>>(num, channels, dim, dy, x,
                                                                     slope_diff);
  cuda::CheckLaunch("PreluSlopeBackwardKernel");
}

}  // namespace cortado
