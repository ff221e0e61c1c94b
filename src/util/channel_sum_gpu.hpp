// A per-channel reduction on the device for blobs laid out as
// (outer, channels, inner): the bias, scale and normalisation gradients of
// Scale, Bias and BatchNorm all sum over every axis but the channel one.
#ifndef CORTADO_UTIL_CHANNEL_SUM_GPU_HPP_
#define CORTADO_UTIL_CHANNEL_SUM_GPU_HPP_

#ifdef CORTADO_WITH_CUDA

#include <cstdint>

namespace cortado {

// out[c] = beta * out[c] + sum over o, i of a[k] * (b ? b[k] : 1), where
// k = (o * channels + c) * inner + i. beta is 0 (overwrite) or 1 (accumulate
// a parameter gradient). Device pointers; b may be null. channel_sum.cu.
void ChannelSumGpu(int64_t outer, int64_t channels, int64_t inner, const float* a,
                   const float* b, float beta, float* out);

}  // namespace cortado

#endif  // CORTADO_WITH_CUDA

#endif  // CORTADO_UTIL_CHANNEL_SUM_GPU_HPP_
