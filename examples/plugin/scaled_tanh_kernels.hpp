// The ScaledTanh plugin's CUDA kernels (scaled_tanh_kernels.cu), over raw
// device pointers of an N x C x D blob; built only against a CUDA Cortado.
#ifndef SCALED_TANH_KERNELS_HPP_
#define SCALED_TANH_KERNELS_HPP_

#include <cstdint>

namespace scaled_tanh {

// y = scale[c] * tanh(x).
void ScaledTanhForwardGpu(int64_t count, int channels, int64_t dim, const float* x,
                          const float* scale, float* y);
// dx = dy * scale[c] * (1 - tanh(x)^2).
void ScaledTanhBackwardGpu(int64_t count, int channels, int64_t dim, const float* dy,
                           const float* x, const float* scale, float* dx);
// dscale[c] += sum over items and positions of dy * tanh(x).
void ScaledTanhScaleBackwardGpu(int64_t num, int channels, int64_t dim, const float* dy,
                                const float* x, float* dscale);

}  // namespace scaled_tanh

#endif  // SCALED_TANH_KERNELS_HPP_
