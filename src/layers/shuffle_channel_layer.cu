// ShuffleChannel's CUDA kernel; shuffle_channel_layer.cpp holds the layer
// and calls it. One thread per output element.
#include "cortado/cuda.hpp"
#include "shuffle_channel_math.hpp"

namespace cortado {
namespace {

__global__ void ShuffleChannelKernel(int64_t count, int channels, int64_t inner, int groups,
                                     const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int64_t plane = i / inner;  // n * channels + c
    const int c = static_cast<int>(plane % channels);
    const int64_t source_plane = plane - c + ShuffleSourceChannel(c, channels, groups);
    y[i] = x[source_plane * inner + i % inner];
  }
}

}  // namespace

void ShuffleChannelGpu(int num, int channels, int64_t inner, int groups, const float* x,
                       float* y) {
  const int64_t count = static_cast<int64_t>(num) * channels * inner;
  ShuffleChannelKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, channels,
                                                                            inner, groups, x, y);
  cuda::CheckLaunch("ShuffleChannelKernel");
}

}  // namespace cortado
