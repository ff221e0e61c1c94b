// Per-channel bias kernels shared by the matrix-heavy layers.
#include "channel_bias.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ChannelBiasForwardKernel(int64_t n, int channels, int64_t spatial,
                                         const float* bias, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] += bias[(i / spatial) % channels]; }
}

// One block per channel sums that channel's num * spatial values in a fixed
// order (per-thread strides, then a tree), so results are reproducible.
__global__ void ChannelBiasBackwardKernel(int64_t num, int channels, int64_t spatial,
                                          const float* dy, float* bias_diff) {
  __shared__ float partial[cuda::kThreadsPerBlock];
  const int c = blockIdx.x;
  const int64_t per_channel = num * spatial;
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < per_channel; j += blockDim.x) {
    const int64_t image = j / spatial;
    sum += dy[(image * channels + c) * spatial + j % spatial];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) bias_diff[c] += partial[0];
}

}  // namespace

void ChannelBiasForwardGpu(int64_t num, int channels, int64_t spatial, const float* bias,
                           float* y) {
  const int64_t n = num * channels * spatial;
  if (n <= 0) return;
  ChannelBiasForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, channels, spatial,
                                                                            bias, y);
  cuda::CheckLaunch("ChannelBiasForwardKernel");
}

void ChannelBiasBackwardGpu(int64_t num, int channels, int64_t spatial, const float* dy,
                            float* bias_diff) {
  if (channels <= 0) return;
  // The tree reduction needs a power-of-two block: kThreadsPerBlock is 256.
  static_assert((cuda::kThreadsPerBlock & (cuda::kThreadsPerBlock - 1)) == 0,
                "block size must be a power of two");
  ChannelBiasBackwardKernel<<<channels, cuda::kThreadsPerBlock>>>(num, channels, spatial, dy,
                                                                  bias_diff);
  cuda::CheckLaunch("ChannelBiasBackwardKernel");
}

}  // namespace cortado
