// Direct depthwise convolution kernels; see depthwise_convolution.hpp.
#include "depthwise_convolution.hpp"

#include "cortado/parallel.hpp"

namespace cortado {
namespace {

// The output columns [lo, hi) whose tap kw reads an input column inside the
// image; outside it the input is zero padding. Same for rows.
void ValidRange(int out_size, int in_size, int stride, int pad, int offset, int* lo, int* hi) {
  // Input position of output o is o * stride - pad + offset.
  int begin = 0;
  while (begin < out_size && begin * stride - pad + offset < 0) ++begin;
  int end = out_size;
  while (end > begin && (end - 1) * stride - pad + offset >= in_size) --end;
  *lo = begin;
  *hi = end;
}

}  // namespace

void DepthwiseForward(const float* x, const float* weights, const float* bias,
                      const ConvGeometry& g, int num, float* y, const Epilogue* post,
                      const float* add) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t in_plane = int64_t(g.height) * g.width;
  const int64_t out_plane = int64_t(out_h) * out_w;
  const int taps = g.kernel_h * g.kernel_w;
  ParallelFor(0, int64_t(num) * g.channels, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const int c = static_cast<int>(p % g.channels);
      const float* in = x + p * in_plane;
      float* out = y + p * out_plane;
      const float b = bias ? bias[c] : 0.f;
      for (int64_t i = 0; i < out_plane; ++i) out[i] = b;
      for (int kh = 0; kh < g.kernel_h; ++kh) {
        int oh_lo, oh_hi;
        ValidRange(out_h, g.height, g.stride_h, g.pad_h, kh * g.dilation_h, &oh_lo, &oh_hi);
        for (int kw = 0; kw < g.kernel_w; ++kw) {
          int ow_lo, ow_hi;
          ValidRange(out_w, g.width, g.stride_w, g.pad_w, kw * g.dilation_w, &ow_lo, &ow_hi);
          const float w = weights[c * taps + kh * g.kernel_w + kw];
          for (int oh = oh_lo; oh < oh_hi; ++oh) {
            const float* row =
                in + int64_t(oh * g.stride_h - g.pad_h + kh * g.dilation_h) * g.width;
            float* out_row = out + int64_t(oh) * out_w;
            const int shift = kw * g.dilation_w - g.pad_w;
            for (int ow = ow_lo; ow < ow_hi; ++ow) out_row[ow] += w * row[ow * g.stride_w + shift];
          }
        }
      }
      if (post) post->ApplyRow(out, 0.f, add ? add + p * out_plane : nullptr, out_plane, out);
    }
  });
}

void DepthwiseBackward(const float* x, const float* weights, const float* dy, const ConvGeometry& g,
                       int num, float* weight_diff, float* x_diff) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t in_plane = int64_t(g.height) * g.width;
  const int64_t out_plane = int64_t(out_h) * out_w;
  const int taps = g.kernel_h * g.kernel_w;
  // Calls body(plane, c, kh, kw, oh, ow_lo, ow_hi, input row, shift) for
  // every valid tap and output row of one plane.
  auto for_each_tap = [&](int64_t p, auto&& body) {
    for (int kh = 0; kh < g.kernel_h; ++kh) {
      int oh_lo, oh_hi;
      ValidRange(out_h, g.height, g.stride_h, g.pad_h, kh * g.dilation_h, &oh_lo, &oh_hi);
      for (int kw = 0; kw < g.kernel_w; ++kw) {
        int ow_lo, ow_hi;
        ValidRange(out_w, g.width, g.stride_w, g.pad_w, kw * g.dilation_w, &ow_lo, &ow_hi);
        for (int oh = oh_lo; oh < oh_hi; ++oh) {
          const int64_t in_row =
              p * in_plane + int64_t(oh * g.stride_h - g.pad_h + kh * g.dilation_h) * g.width;
          body(kh * g.kernel_w + kw, p * out_plane + int64_t(oh) * out_w, in_row,
               kw * g.dilation_w - g.pad_w, ow_lo, ow_hi);
        }
      }
    }
  };
  if (weight_diff) {
    // Threads own disjoint channels, summing over images in order, so the
    // result does not depend on timing.
    ParallelFor(0, g.channels, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        float* dw = weight_diff + c * taps;
        for (int n = 0; n < num; ++n) {
          for_each_tap(int64_t(n) * g.channels + c, [&](int tap, int64_t out_row, int64_t in_row,
                                                        int shift, int ow_lo, int ow_hi) {
            float sum = 0;
            for (int ow = ow_lo; ow < ow_hi; ++ow) {
              sum += dy[out_row + ow] * x[in_row + ow * g.stride_w + shift];
            }
            dw[tap] += sum;
          });
        }
      }
    });
  }
  if (x_diff) {
    ParallelFor(0, int64_t(num) * g.channels, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const int c = static_cast<int>(p % g.channels);
        float* dx_plane = x_diff + p * in_plane;
        for (int64_t i = 0; i < in_plane; ++i) dx_plane[i] = 0.f;
        for_each_tap(
            p, [&](int tap, int64_t out_row, int64_t in_row, int shift, int ow_lo, int ow_hi) {
              const float w = weights[c * taps + tap];
              for (int ow = ow_lo; ow < ow_hi; ++ow) {
                x_diff[in_row + ow * g.stride_w + shift] += w * dy[out_row + ow];
              }
            });
      }
    });
  }
}

}  // namespace cortado
