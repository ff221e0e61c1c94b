// Per-channel bias on the device for the layers whose outputs are
// (num, channels, spatial) arrays: Convolution, Deconvolution, InnerProduct
// (spatial 1) and Embed. Defined in channel_bias.cu; CUDA builds only.
#ifndef CORTADO_SRC_LAYERS_CHANNEL_BIAS_HPP_
#define CORTADO_SRC_LAYERS_CHANNEL_BIAS_HPP_

#include <cstdint>

namespace cortado {

// y[n][c][s] += bias[c].
void ChannelBiasForwardGpu(int64_t num, int channels, int64_t spatial, const float* bias,
                           float* y);
// bias_diff[c] += sum over n and s of dy[n][c][s] (accumulates, as parameter
// gradients do).
void ChannelBiasBackwardGpu(int64_t num, int channels, int64_t spatial, const float* dy,
                            float* bias_diff);

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_CHANNEL_BIAS_HPP_
