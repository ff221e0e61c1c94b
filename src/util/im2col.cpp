// im2col/col2im on the host: patch unfolding for convolution as a GEMM.
#include "cortado/im2col.hpp"

#include <algorithm>
#include <cstring>

namespace cortado {
namespace {

// The range [first, last) of output columns whose input column
// out * stride - pad + offset lies inside [0, size). Computed once per kernel
// tap so the inner loops need no bounds checks.
void ValidRange(int out_size, int size, int stride, int pad, int offset,
                int* first, int* last) {
  const int start = offset - pad;  // input index of output 0
  // Smallest out with start + out * stride >= 0.
  int lo = start >= 0 ? 0 : (-start + stride - 1) / stride;
  // Largest out with start + out * stride <= size - 1, plus one.
  int hi = start > size - 1 ? 0 : (size - 1 - start) / stride + 1;
  *first = std::min(lo, out_size);
  *last = std::max(*first, std::min(hi, out_size));
}

}  // namespace

void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride,
            float* columns) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t plane = int64_t(g.height) * g.width;
  float* row = columns;
  for (int c = 0; c < g.channels; ++c) {
    const float* channel = image + c * plane;
    for (int ki = 0; ki < g.kernel_h; ++ki) {
      for (int kj = 0; kj < g.kernel_w; ++kj, row += row_stride) {
        const int w_offset = kj * g.dilation_w;
        // Input column of output column ow is ow * stride_w + shift.
        const int shift = w_offset - g.pad_w;
        int ow_first, ow_last;
        ValidRange(out_w, g.width, g.stride_w, g.pad_w, w_offset, &ow_first, &ow_last);
        float* out = row;
        for (int oh = 0; oh < out_h; ++oh, out += out_w) {
          const int ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
          if (ih < 0 || ih >= g.height) {
            std::memset(out, 0, sizeof(float) * out_w);
            continue;
          }
          // Plain loops rather than memcpy/fill: rows are often only a few
          // floats wide, where the call overhead dominates.
          for (int ow = 0; ow < ow_first; ++ow) out[ow] = 0.f;
          const float* in = channel + int64_t(ih) * g.width;
          if (g.stride_w == 1) {
            for (int ow = ow_first; ow < ow_last; ++ow) out[ow] = in[ow + shift];
          } else {
            for (int ow = ow_first; ow < ow_last; ++ow) {
              out[ow] = in[ow * g.stride_w + shift];
            }
          }
          for (int ow = ow_last; ow < out_w; ++ow) out[ow] = 0.f;
        }
      }
    }
  }
}

void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride,
            float* image) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t plane = int64_t(g.height) * g.width;
  const float* row = columns;
  for (int c = 0; c < g.channels; ++c) {
    float* channel = image + c * plane;
    for (int ki = 0; ki < g.kernel_h; ++ki) {
      for (int kj = 0; kj < g.kernel_w; ++kj, row += row_stride) {
        const int w_offset = kj * g.dilation_w;
        // Input column of output column ow is ow * stride_w + shift.
        const int shift = w_offset - g.pad_w;
        int ow_first, ow_last;
        ValidRange(out_w, g.width, g.stride_w, g.pad_w, w_offset, &ow_first, &ow_last);
        const float* col = row;
        for (int oh = 0; oh < out_h; ++oh, col += out_w) {
          const int ih = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
          if (ih < 0 || ih >= g.height) continue;
          float* in = channel + int64_t(ih) * g.width;
          for (int ow = ow_first; ow < ow_last; ++ow) {
            in[ow * g.stride_w + shift] += col[ow];
          }
        }
      }
    }
  }
}

}  // namespace cortado
