// Direct kernels for depthwise convolution (group == channels == num_output,
// as in MobileNet): each channel is filtered by its own kernel, so the
// im2col + GEMM route would multiply 1-row matrices; a direct loop is faster.
#ifndef CORTADO_SRC_LAYERS_DEPTHWISE_CONVOLUTION_HPP_
#define CORTADO_SRC_LAYERS_DEPTHWISE_CONVOLUTION_HPP_

#include <cstdint>

#include "cortado/epilogue.hpp"
#include "cortado/im2col.hpp"

namespace cortado {

// y[n][c] = w[c] (*) x[n][c] (+ bias[c] when bias is not null), for `num`
// images of g.channels channels; weights are channels x kernel_h x kernel_w.
// With `post`, each output plane then gets the epilogue's addend (`add`,
// the output's shape, may be null) and ReLU while it is still in cache.
void DepthwiseForward(const float* x, const float* weights, const float* bias,
                      const ConvGeometry& g, int num, float* y, const Epilogue* post = nullptr,
                      const float* add = nullptr);

// Adds d(E)/d(weights) into weight_diff (when not null) and writes
// d(E)/d(x) into x_diff (when not null) from the top gradient dy.
void DepthwiseBackward(const float* x, const float* weights, const float* dy, const ConvGeometry& g,
                       int num, float* weight_diff, float* x_diff);

}  // namespace cortado

#endif  // CORTADO_SRC_LAYERS_DEPTHWISE_CONVOLUTION_HPP_
