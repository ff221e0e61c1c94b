// im2col/col2im: unfold image patches into matrix columns so convolution is
// one matrix product, and fold gradients back.
#ifndef CORTADO_IM2COL_HPP_
#define CORTADO_IM2COL_HPP_

#include <cstdint>

namespace cortado {

struct ConvGeometry {
  int channels = 0;
  int height = 0, width = 0;
  int kernel_h = 1, kernel_w = 1;
  int pad_h = 0, pad_w = 0;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int output_h() const {
    return (height + 2 * pad_h - (dilation_h * (kernel_h - 1) + 1)) / stride_h + 1;
  }
  int output_w() const {
    return (width + 2 * pad_w - (dilation_w * (kernel_w - 1) + 1)) / stride_w + 1;
  }
};

// Writes a (channels*kernel_h*kernel_w) x (output_h*output_w) matrix whose
// rows are `row_stride` floats apart, so several images can be unfolded side
// by side into one wide matrix.
void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride,
            float* columns);
// Accumulates the columns back into `image` (which the caller zeroes).
void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride,
            float* image);

}  // namespace cortado

#endif  // CORTADO_IM2COL_HPP_
