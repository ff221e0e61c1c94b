// The per-channel sum: one block per channel, a shared-memory tree at the
// end, so the order of additions is fixed and results are reproducible.
#include "channel_sum_gpu.hpp"

#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ChannelSumKernel(int64_t outer, int64_t channels, int64_t inner,
                                 const float* a, const float* b, float beta, float* out) {
  __shared__ float partial[cuda::kThreadsPerBlock];
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    float sum = 0;
    const int64_t n = outer * inner;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const int64_t k = ((j / inner) * channels + c) * inner + j % inner;
      sum += b ? a[k] * b[k] : a[k];
    }
    const int tid = static_cast<int>(threadIdx.x);
    partial[tid] = sum;
    __syncthreads();
    for (int half = static_cast<int>(blockDim.x) / 2; half > 0; half /= 2) {
      if (tid < half) partial[tid] += partial[tid + half];
      __syncthreads();
    }
    if (tid == 0) out[c] = (beta == 0.f ? 0.f : beta * out[c]) + partial[0];
    __syncthreads();  // partial[] is reused by the next channel
  }
}

}  // namespace

void ChannelSumGpu(int64_t outer, int64_t channels, int64_t inner, const float* a,
                   const float* b, float beta, float* out) {
  if (channels <= 0) return;
  const int blocks = static_cast<int>(channels < 65535 ? channels : 65535);
  ChannelSumKernel<<<blocks, cuda::kThreadsPerBlock>>>(outer, channels, inner, a, b, beta, out);
  cuda::CheckLaunch("ChannelSumKernel");
}

}  // namespace cortado
