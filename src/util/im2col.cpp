// im2col/col2im on the host: patch unfolding for convolution as a GEMM.
#include "cortado/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

// The 2-D unfolding is mostly short row copies (8 floats per row in LeNet's
// conv2). Debian builds for baseline x86-64, where each such copy takes two
// SSE moves; an AVX2 clone, picked when the library loads, does it in one.
// (An AVX-512 clone was slower on those rows.) The helpers are forced inline
// so that each clone compiles them for its own instruction set.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CORTADO_ISA_CLONES __attribute__((target_clones("avx2", "default")))
#define CORTADO_INLINE_INTO_CLONES inline __attribute__((always_inline))
#else
#define CORTADO_ISA_CLONES
#define CORTADO_INLINE_INTO_CLONES inline
#endif

namespace cortado {
namespace {

// The range [first, last) of outputs whose input index
// out * stride - pad + offset lies inside [0, size). Computed once per kernel
// tap so the inner loops need no bounds checks.
void ValidRange(int out_size, int size, int stride, int pad, int offset, int* first,
                int* last) {
  const int start = offset - pad;  // input index of output 0
  // Smallest out with start + out * stride >= 0.
  int lo = start >= 0 ? 0 : (-start + stride - 1) / stride;
  // Largest out with start + out * stride <= size - 1, plus one.
  int hi = start > size - 1 ? 0 : (size - 1 - start) / stride + 1;
  *first = std::min(lo, out_size);
  *last = std::max(*first, std::min(hi, out_size));
}

// dst = src (or dst += src with kAdd) over `rows` rows of `width` contiguous
// floats. Rows are often only a few floats wide (8 in LeNet's conv2), so the
// copy goes in fixed-size blocks the compiler turns into a couple of vector
// moves, without a vectorised loop's set-up cost per row; twice as fast as a
// plain loop there.
template <bool kAdd>
CORTADO_INLINE_INTO_CLONES void MoveRows(const float* __restrict src, int64_t src_stride,
                                         float* __restrict dst, int64_t dst_stride, int rows,
                                         int width) {
  for (int r = 0; r < rows; ++r, src += src_stride, dst += dst_stride) {
    int i = 0;
    for (; i + 8 <= width; i += 8) {
      for (int k = 0; k < 8; ++k) dst[i + k] = kAdd ? dst[i + k] + src[i + k] : src[i + k];
    }
    for (; i + 4 <= width; i += 4) {
      for (int k = 0; k < 4; ++k) dst[i + k] = kAdd ? dst[i + k] + src[i + k] : src[i + k];
    }
    for (; i < width; ++i) dst[i] = kAdd ? dst[i] + src[i] : src[i];
  }
}

// The outputs [first, last) along one axis whose input for one kernel
// offset lies inside the image, and the input index the first of them reads.
struct TapSpan {
  int first, last, input;
};

// The spans of every kernel offset along one axis. They depend on the
// offset only, so they are worked out once per call: dividing per tap was
// a fifth of LeNet's conv2 unfolding.
void AxisSpans(int out_size, int size, int stride, int pad, int kernel, int dilation,
               std::vector<TapSpan>* spans) {
  spans->resize(kernel);
  for (int k = 0; k < kernel; ++k) {
    TapSpan& s = (*spans)[k];
    ValidRange(out_size, size, stride, pad, k * dilation, &s.first, &s.last);
    s.input = s.first * stride - pad + k * dilation;
  }
}

// Walks every kernel tap (c, ki, kj) with its row of the column matrix and
// the block of outputs that reads inside the image: output rows
// [oh_first, oh_last) and columns [ow_first, ow_last), the first of them
// reading image row ih0 and image column ow_first * stride_w + shift.
template <typename TapFn>
CORTADO_INLINE_INTO_CLONES void ForEachTap(const ConvGeometry& g, TapFn tap) {
  thread_local std::vector<TapSpan> rows, cols;
  AxisSpans(g.output_h(), g.height, g.stride_h, g.pad_h, g.kernel_h, g.dilation_h, &rows);
  AxisSpans(g.output_w(), g.width, g.stride_w, g.pad_w, g.kernel_w, g.dilation_w, &cols);
  int64_t row = 0;
  for (int c = 0; c < g.channels; ++c) {
    for (const TapSpan& h : rows) {
      for (const TapSpan& w : cols) {
        tap(row++, c, h.input, h.first, h.last, w.first, w.last, w.input - w.first * g.stride_w);
      }
    }
  }
}

}  // namespace

CORTADO_ISA_CLONES void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride,
                               float* columns) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t plane = int64_t(g.height) * g.width;
  const int64_t in_step = int64_t(g.stride_h) * g.width;  // image floats per output row
  ForEachTap(g, [&](int64_t row, int c, int ih0, int oh_first, int oh_last, int ow_first,
                    int ow_last, int shift) {
    float* out = columns + row * row_stride;
    // Output rows that read only padding (skipped without a call when there
    // are none: most taps of most layers).
    if (oh_first > 0) std::memset(out, 0, sizeof(float) * oh_first * out_w);
    if (oh_last < out_h) {
      std::memset(out + int64_t(oh_last) * out_w, 0, sizeof(float) * (out_h - oh_last) * out_w);
    }
    const float* in = image + c * plane + int64_t(ih0) * g.width;
    out += int64_t(oh_first) * out_w;
    const int rows = oh_last - oh_first;
    if (g.stride_w == 1) {
      const int span = ow_last - ow_first;
      // A width known at compile time drops the per-row block loop: 8
      // (LeNet's conv2) unfolds 1.6x faster so.
      if (span == 8) {
        MoveRows<false>(in + ow_first + shift, in_step, out + ow_first, out_w, rows, 8);
      } else {
        MoveRows<false>(in + ow_first + shift, in_step, out + ow_first, out_w, rows, span);
      }
      if (ow_first > 0 || ow_last < out_w) {
        for (int r = 0; r < rows; ++r) {
          std::fill(out + int64_t(r) * out_w, out + int64_t(r) * out_w + ow_first, 0.f);
          std::fill(out + int64_t(r) * out_w + ow_last, out + int64_t(r + 1) * out_w, 0.f);
        }
      }
      return;
    }
    for (int r = 0; r < rows; ++r, in += in_step, out += out_w) {
      for (int ow = 0; ow < ow_first; ++ow) out[ow] = 0.f;
      for (int ow = ow_first; ow < ow_last; ++ow) out[ow] = in[ow * g.stride_w + shift];
      for (int ow = ow_last; ow < out_w; ++ow) out[ow] = 0.f;
    }
  });
}

CORTADO_ISA_CLONES void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride,
                               float* image) {
  const int out_w = g.output_w();
  const int64_t plane = int64_t(g.height) * g.width;
  const int64_t in_step = int64_t(g.stride_h) * g.width;
  ForEachTap(g, [&](int64_t row, int c, int ih0, int oh_first, int oh_last, int ow_first,
                    int ow_last, int shift) {
    const float* col = columns + row * row_stride + int64_t(oh_first) * out_w;
    float* in = image + c * plane + int64_t(ih0) * g.width;
    const int rows = oh_last - oh_first;
    if (g.stride_w == 1) {
      const int span = ow_last - ow_first;
      if (span == 8) {  // see Im2col
        MoveRows<true>(col + ow_first, out_w, in + ow_first + shift, in_step, rows, 8);
      } else {
        MoveRows<true>(col + ow_first, out_w, in + ow_first + shift, in_step, rows, span);
      }
      return;
    }
    for (int r = 0; r < rows; ++r, in += in_step, col += out_w) {
      for (int ow = ow_first; ow < ow_last; ++ow) in[ow * g.stride_w + shift] += col[ow];
    }
  });
}

namespace {

int64_t Product(const std::vector<int>& v) {
  int64_t p = 1;
  for (int x : v) p *= x;
  return p;
}

// Calls visit(entry, source) for every entry of the column matrix, where
// entry is its offset from the matrix start and source the image offset it
// reads, or -1 in the padding. The last axis is walked as one run per
// (row, outer position) so its bounds test is the only per-entry work.
template <typename Visit>
void ForEachEntryNd(const ConvGeometryNd& g, int64_t row_stride, Visit visit) {
  const int axes = g.num_axes();
  const int last = axes - 1;
  const int64_t taps = g.kernel_count();
  const int64_t in_count = g.input_count();
  const int out_last = g.output(last);
  const int64_t outer_positions = g.output_count() / out_last;
  std::vector<int> tap(axes), position(axes);
  for (int c = 0; c < g.channels; ++c) {
    for (int64_t k = 0; k < taps; ++k) {
      for (int64_t rest = k, a = last; a >= 0; --a) {
        tap[a] = static_cast<int>(rest % g.kernel[a]);
        rest /= g.kernel[a];
      }
      const int64_t row = (int64_t(c) * taps + k) * row_stride;
      const int last_offset = tap[last] * g.dilation[last] - g.pad[last];
      for (int64_t o = 0; o < outer_positions; ++o) {
        for (int64_t rest = o, a = last - 1; a >= 0; --a) {
          position[a] = static_cast<int>(rest % g.output(a));
          rest /= g.output(a);
        }
        bool inside = true;
        int64_t base = 0;  // linear index of the outer input coordinates
        for (int a = 0; a < last; ++a) {
          const int i = position[a] * g.stride[a] - g.pad[a] + tap[a] * g.dilation[a];
          inside = inside && i >= 0 && i < g.input[a];
          base = base * g.input[a] + i;
        }
        base = int64_t(c) * in_count + base * g.input[last];
        const int64_t entry = row + o * out_last;
        for (int j = 0; j < out_last; ++j) {
          const int i = j * g.stride[last] + last_offset;
          visit(entry + j, inside && i >= 0 && i < g.input[last] ? base + i : -1);
        }
      }
    }
  }
}

}  // namespace

int64_t ConvGeometryNd::input_count() const { return Product(input); }
int64_t ConvGeometryNd::kernel_count() const { return Product(kernel); }
int64_t ConvGeometryNd::output_count() const {
  int64_t p = 1;
  for (int a = 0; a < num_axes(); ++a) p *= output(a);
  return p;
}

void Im2colNd(const float* image, const ConvGeometryNd& g, int64_t row_stride,
              float* columns) {
  ForEachEntryNd(g, row_stride, [&](int64_t entry, int64_t source) {
    columns[entry] = source < 0 ? 0.f : image[source];
  });
}

void Col2imNd(const float* columns, const ConvGeometryNd& g, int64_t row_stride,
              float* image) {
  ForEachEntryNd(g, row_stride, [&](int64_t entry, int64_t source) {
    if (source >= 0) image[source] += columns[entry];
  });
}

}  // namespace cortado
