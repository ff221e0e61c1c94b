// im2col/col2im: unfold image patches into matrix columns so convolution is
// one matrix product, and fold gradients back.
#ifndef CORTADO_IM2COL_HPP_
#define CORTADO_IM2COL_HPP_

#include <cstdint>
#include <vector>

namespace cortado {

struct ConvGeometry {
  int channels = 0;
  int height = 0, width = 0;
  int kernel_h = 1, kernel_w = 1;
  int pad_h = 0, pad_w = 0;
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  // In 64 bits, so a huge pad or dilation cannot overflow; the layers check
  // (conv_param.hpp's ConvAxisOutput) that the result fits in an int.
  int output_h() const {
    return static_cast<int>(
        (int64_t(height) + 2 * int64_t(pad_h) - (int64_t(dilation_h) * (kernel_h - 1) + 1)) /
            stride_h + 1);
  }
  int output_w() const {
    return static_cast<int>(
        (int64_t(width) + 2 * int64_t(pad_w) - (int64_t(dilation_w) * (kernel_w - 1) + 1)) /
            stride_w + 1);
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

// The same unfolding over any number of spatial axes (3-D video or volume
// convolution); each vector holds one value per spatial axis. Row r of the
// column matrix is (channel, kernel tap in row-major order), column j the
// output position in row-major order, as in the 2-D case.
struct ConvGeometryNd {
  int channels = 0;
  std::vector<int> input, kernel, pad, stride, dilation;
  int num_axes() const { return static_cast<int>(input.size()); }
  int output(int axis) const {
    return static_cast<int>((int64_t(input[axis]) + 2 * int64_t(pad[axis]) -
                             (int64_t(dilation[axis]) * (kernel[axis] - 1) + 1)) /
                                stride[axis] + 1);
  }
  int64_t input_count() const;   // spatial positions of one channel
  int64_t output_count() const;  // columns of the matrix
  int64_t kernel_count() const;  // kernel taps per channel
};

// Kept apart from Im2col/Col2im, which stay specialised for the 2-D case
// that nearly every net uses.
void Im2colNd(const float* image, const ConvGeometryNd& g, int64_t row_stride,
              float* columns);
void Col2imNd(const float* columns, const ConvGeometryNd& g, int64_t row_stride,
              float* image);

}  // namespace cortado

#endif  // CORTADO_IM2COL_HPP_
