// im2col/col2im on the device: one thread per element written, so no two
// threads touch one float and results do not depend on scheduling.
#include "cortado/cuda.hpp"
#include "cortado/im2col_gpu.hpp"

namespace cortado {
namespace gpu {
namespace {

// Thread i writes column-matrix element (row, col): row = (c, ki, kj) in
// that order, col = (oh, ow). The kernel gets the geometry by value.
__global__ void Im2colKernel(int64_t n, const float* image, ConvGeometry g, int out_h,
                             int out_w, int64_t row_stride, float* columns) {
  const int64_t out_spatial = int64_t(out_h) * out_w;
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t row = i / out_spatial;
    const int64_t col = i % out_spatial;
    const int oh = static_cast<int>(col / out_w);
    const int ow = static_cast<int>(col % out_w);
    const int kj = static_cast<int>(row % g.kernel_w);
    const int ki = static_cast<int>((row / g.kernel_w) % g.kernel_h);
    const int64_t c = row / (int64_t(g.kernel_w) * g.kernel_h);
    const int ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
    const int iw = ow * g.stride_w - g.pad_w + kj * g.dilation_w;
    const bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
    columns[row * row_stride + col] =
        inside ? image[(c * g.height + ih) * g.width + iw] : 0.f;
  }
}

// Thread i owns image element (c, h, w) and sums every column entry that
// read it: tap (ki, kj) at output (oh, ow) reads h when
// oh * stride_h - pad_h + ki * dilation_h == h, and likewise for w.
__global__ void Col2imKernel(int64_t n, const float* columns, ConvGeometry g, int out_h,
                             int out_w, int64_t row_stride, float* image) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int w = static_cast<int>(i % g.width);
    const int h = static_cast<int>((i / g.width) % g.height);
    const int64_t c = i / (int64_t(g.width) * g.height);
    float sum = 0.f;
    for (int ki = 0; ki < g.kernel_h; ++ki) {
      const int h_from_pad = h + g.pad_h - ki * g.dilation_h;  // oh * stride_h
      if (h_from_pad < 0 || h_from_pad % g.stride_h != 0) continue;
      const int oh = h_from_pad / g.stride_h;
      if (oh >= out_h) continue;
      for (int kj = 0; kj < g.kernel_w; ++kj) {
        const int w_from_pad = w + g.pad_w - kj * g.dilation_w;  // ow * stride_w
        if (w_from_pad < 0 || w_from_pad % g.stride_w != 0) continue;
        const int ow = w_from_pad / g.stride_w;
        if (ow >= out_w) continue;
        const int64_t row = (c * g.kernel_h + ki) * g.kernel_w + kj;
        sum += columns[row * row_stride + int64_t(oh) * out_w + ow];
      }
    }
    image[i] += sum;
  }
}

}  // namespace

void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride, float* columns) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t n = int64_t(g.channels) * g.kernel_h * g.kernel_w * out_h * out_w;
  if (n <= 0) return;
  Im2colKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, image, g, out_h, out_w,
                                                                row_stride, columns);
  cuda::CheckLaunch("Im2colKernel");
}

void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride, float* image) {
  const int64_t n = int64_t(g.channels) * g.height * g.width;
  if (n <= 0) return;
  Col2imKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, columns, g, g.output_h(),
                                                                g.output_w(), row_stride, image);
  cuda::CheckLaunch("Col2imKernel");
}

}  // namespace gpu
}  // namespace cortado
