// Direct depthwise convolution kernels; see depthwise_convolution.hpp.
#include "depthwise_convolution.hpp"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "cortado/parallel.hpp"
#include "../util/lane_sum.hpp"

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

// The inner loops of the three passes over one row. Each is instantiated
// with the input's column stride a compile-time constant where it is 1 or 2
// (kStride; 0 means `stride` at run time): with a run-time stride GCC keeps
// these loops scalar, and MobileNet v2's 3x3 depthwise layers ran at about
// 9 GFLOP/s. The branch on the stride is once per row.
template <typename Fn>
auto WithStride(int stride, Fn fn) {
  if (stride == 1) return fn(std::integral_constant<int, 1>());
  if (stride == 2) return fn(std::integral_constant<int, 2>());
  return fn(std::integral_constant<int, 0>());
}

// out[i] += w * in[i * stride] for i in [0, n).
void AddScaledFromStrided(const float* __restrict in, int stride, float w, int n,
                          float* __restrict out) {
  WithStride(stride, [=](auto constant) {
    const int s = constant.value > 0 ? constant.value : stride;
    for (int i = 0; i < n; ++i) out[i] += w * in[i * s];
  });
}

// out[i * stride] += w * in[i] for i in [0, n).
void AddScaledToStrided(const float* __restrict in, float w, int n, int stride,
                        float* __restrict out) {
  WithStride(stride, [=](auto constant) {
    const int s = constant.value > 0 ? constant.value : stride;
    for (int i = 0; i < n; ++i) out[i * s] += w * in[i];
  });
}

// The sum of a[i] * b[i * stride] for i in [0, n), in LaneSum's fixed order.
float DotStrided(const float* __restrict a, const float* __restrict b, int stride, int n) {
  return WithStride(stride, [=](auto constant) {
    const int s = constant.value > 0 ? constant.value : stride;
    return LaneSum<float>(n, [=](int64_t i) { return a[i] * b[i * s]; });
  });
}

// The calling thread's buffer for one padded plane, shared by the three
// passes.
std::vector<float>& PaddedPlane() {
  thread_local std::vector<float> padded;
  return padded;
}

// Copies one input plane into `padded` with g's zero padding around it, so
// a kernel can read every tap without bounds checks. Returns the padded
// row length.
int64_t PadPlane(const float* in, const ConvGeometry& g, std::vector<float>* padded) {
  const int64_t padded_w = int64_t(g.width) + 2 * g.pad_w;
  const int64_t padded_h = int64_t(g.height) + 2 * g.pad_h;
  if (padded->size() < size_t(padded_w * padded_h)) padded->resize(padded_w * padded_h);
  float* out = padded->data();
  std::fill(out, out + g.pad_h * padded_w, 0.f);
  for (int h = 0; h < g.height; ++h) {
    float* row = out + (g.pad_h + h) * padded_w;
    std::fill(row, row + g.pad_w, 0.f);
    std::copy(in + int64_t(h) * g.width, in + int64_t(h + 1) * g.width, row + g.pad_w);
    std::fill(row + g.pad_w + g.width, row + padded_w, 0.f);
  }
  std::fill(out + (g.pad_h + g.height) * padded_w, out + padded_h * padded_w, 0.f);
  return padded_w;
}

// Copies one plane of dy into `buffer` spread out by 2 (zeros between its
// values) and padded by 2 - pad on each side: the input gradient of a 3x3,
// stride-2 convolution is then a stride-1 correlation of the buffer with the
// window turned 180 degrees (MobileNet v2's stride-2 layers: a register
// kernel instead of a load and a strided store per tap). `g` describes the
// forward input; the buffer has g.height + 2 rows of g.width + 2. Returns
// the row length.
int64_t DilatePlane(const float* dy, const ConvGeometry& g, int out_h, int out_w,
                    std::vector<float>* buffer) {
  const int64_t buffer_w = int64_t(g.width) + 2;
  const int64_t buffer_h = int64_t(g.height) + 2;
  if (buffer->size() < size_t(buffer_w * buffer_h)) buffer->resize(buffer_w * buffer_h);
  float* out = buffer->data();
  std::fill(out, out + buffer_w * buffer_h, 0.f);
  for (int oh = 0; oh < out_h; ++oh) {
    float* row = out + (2 - g.pad_h + 2 * oh) * buffer_w + (2 - g.pad_w);
    const float* in = dy + int64_t(oh) * out_w;
    for (int ow = 0; ow < out_w; ++ow) row[2 * ow] = in[ow];
  }
  return buffer_w;
}

// One plane of a 3x3 depthwise convolution of stride kStride (in both axes)
// and dilation 1, from the padded input: the nine products of an output are
// summed in a register, in the general loop's order, and stored once,
// where the general loop loads and stores the output once per tap (5x
// slower on MobileNet v2's 56x56 planes).
template <int kStride>
void Depthwise3x3Plane(const float* padded, int64_t padded_w, const float* w, float bias,
                       int out_h, int out_w, float* out) {
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
              w7 = w[7], w8 = w[8];
  for (int oh = 0; oh < out_h; ++oh) {
    const float* __restrict r0 = padded + int64_t(oh) * kStride * padded_w;
    const float* __restrict r1 = r0 + padded_w;
    const float* __restrict r2 = r1 + padded_w;
    float* __restrict o = out + int64_t(oh) * out_w;
    for (int ow = 0; ow < out_w; ++ow) {
      const int i = ow * kStride;
      float acc = bias;
      acc += w0 * r0[i];
      acc += w1 * r0[i + 1];
      acc += w2 * r0[i + 2];
      acc += w3 * r1[i];
      acc += w4 * r1[i + 1];
      acc += w5 * r1[i + 2];
      acc += w6 * r2[i];
      acc += w7 * r2[i + 1];
      acc += w8 * r2[i + 2];
      o[ow] = acc;
    }
  }
}

// dw[tap] += the sum over one plane of dy times the input under that tap,
// for a 3x3 window of stride kStride from the padded input. One pass over
// the plane: each block of four outputs loads dy once and adds its products
// to nine four-lane sums, one per tap, that stay in registers (a pass per
// tap loaded dy nine times, and took 1.4x the forward's time). The last
// out_w % 4 columns go to a tail sum per tap; the lanes and the tail are
// added in a fixed order at the end.
template <int kStride>
void Depthwise3x3WeightGradient(const float* padded, int64_t padded_w, const float* dy,
                                int out_h, int out_w, float* dw) {
  // Four floats in one SSE register (lane_sum.hpp's vector type): GCC did
  // not vectorise the nine sums written as arrays.
  using Lanes = FloatLanes4;
  constexpr int kLanes = 4;
  // Four inputs a stride apart, from p[0].
  auto load = [](const float* p) {
    if constexpr (kStride == 1) {
      return LoadFloatLanes4(p);
    } else {
      return Lanes{p[0], p[kStride], p[2 * kStride], p[3 * kStride]};
    }
  };
  const int whole = out_w / kLanes * kLanes;
  Lanes sums[9] = {};
  float tail[9] = {};
  for (int oh = 0; oh < out_h; ++oh) {
    const float* d = dy + int64_t(oh) * out_w;
    const float* r0 = padded + int64_t(oh) * kStride * padded_w;
    const float* r1 = r0 + padded_w;
    const float* r2 = r1 + padded_w;
    for (int ow = 0; ow < whole; ow += kLanes) {
      const Lanes g = LoadFloatLanes4(d + ow);
      const int i = ow * kStride;
      sums[0] += g * load(r0 + i);
      sums[1] += g * load(r0 + i + 1);
      sums[2] += g * load(r0 + i + 2);
      sums[3] += g * load(r1 + i);
      sums[4] += g * load(r1 + i + 1);
      sums[5] += g * load(r1 + i + 2);
      sums[6] += g * load(r2 + i);
      sums[7] += g * load(r2 + i + 1);
      sums[8] += g * load(r2 + i + 2);
    }
    for (int ow = whole; ow < out_w; ++ow) {
      const int i = ow * kStride;
      for (int tap = 0; tap < 9; ++tap) {
        const float* row = tap < 3 ? r0 : tap < 6 ? r1 : r2;
        tail[tap] += d[ow] * row[i + tap % 3];
      }
    }
  }
  for (int tap = 0; tap < 9; ++tap) {
    float sum = 0.f;
    for (int l = 0; l < kLanes; ++l) sum += sums[tap][l];
    dw[tap] += sum + tail[tap];
  }
}

// MobileNet's windows: 3x3, stride 1 or 2 both ways, no dilation. They take
// the register kernels above.
bool IsThreeByThree(const ConvGeometry& g) {
  return g.kernel_h == 3 && g.kernel_w == 3 && g.dilation_h == 1 && g.dilation_w == 1 &&
         g.stride_h == g.stride_w && (g.stride_w == 1 || g.stride_w == 2);
}

}  // namespace

void DepthwiseForward(const float* x, const float* weights, const float* bias,
                      const ConvGeometry& g, int num, float* y, const Epilogue* post,
                      const float* add) {
  const int out_h = g.output_h(), out_w = g.output_w();
  const int64_t in_plane = int64_t(g.height) * g.width;
  const int64_t out_plane = int64_t(out_h) * out_w;
  const int taps = g.kernel_h * g.kernel_w;
  const bool three_by_three = IsThreeByThree(g);
  ParallelFor(0, int64_t(num) * g.channels, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const int c = static_cast<int>(p % g.channels);
      const float* in = x + p * in_plane;
      float* out = y + p * out_plane;
      const float b = bias ? bias[c] : 0.f;
      if (three_by_three) {
        std::vector<float>& padded = PaddedPlane();
        const int64_t padded_w = PadPlane(in, g, &padded);
        if (g.stride_w == 1) {
          Depthwise3x3Plane<1>(padded.data(), padded_w, weights + c * taps, b, out_h, out_w, out);
        } else {
          Depthwise3x3Plane<2>(padded.data(), padded_w, weights + c * taps, b, out_h, out_w, out);
        }
        if (post) post->ApplyRow(out, 0.f, add ? add + p * out_plane : nullptr, out_plane, out);
        continue;
      }
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
            AddScaledFromStrided(row + ow_lo * g.stride_w + shift, g.stride_w, w, ow_hi - ow_lo,
                                 out_row + ow_lo);
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
  const bool three_by_three = IsThreeByThree(g);
  if (weight_diff) {
    // Threads own disjoint channels, summing over images in order, so the
    // result does not depend on timing.
    ParallelFor(0, g.channels, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c) {
        float* dw = weight_diff + c * taps;
        for (int n = 0; n < num; ++n) {
          const int64_t p = int64_t(n) * g.channels + c;
          if (three_by_three) {
            std::vector<float>& padded = PaddedPlane();
            const int64_t padded_w = PadPlane(x + p * in_plane, g, &padded);
            if (g.stride_w == 1) {
              Depthwise3x3WeightGradient<1>(padded.data(), padded_w, dy + p * out_plane, out_h,
                                            out_w, dw);
            } else {
              Depthwise3x3WeightGradient<2>(padded.data(), padded_w, dy + p * out_plane, out_h,
                                            out_w, dw);
            }
            continue;
          }
          for_each_tap(p, [&](int tap, int64_t out_row, int64_t in_row, int shift, int ow_lo,
                              int ow_hi) {
            if (ow_hi <= ow_lo) return;
            dw[tap] += DotStrided(dy + out_row + ow_lo, x + in_row + ow_lo * g.stride_w + shift,
                                  g.stride_w, ow_hi - ow_lo);
          });
        }
      }
    });
  }
  if (x_diff) {
    // For a 3x3 window of padding up to 2, the input gradient is itself a
    // 3x3 correlation of stride 1: of dy padded by 2 - pad (and, for stride
    // 2, spread out by 2), with the window turned by 180 degrees. The
    // forward's register kernel then computes it in one store per value,
    // instead of one load and store per tap.
    const bool correlation = three_by_three && g.pad_h <= 2 && g.pad_w <= 2;
    ConvGeometry dy_geometry;  // dy as the correlation's input
    dy_geometry.height = out_h;
    dy_geometry.width = out_w;
    dy_geometry.pad_h = 2 - g.pad_h;
    dy_geometry.pad_w = 2 - g.pad_w;
    ParallelFor(0, int64_t(num) * g.channels, [&](int64_t lo, int64_t hi) {
      for (int64_t p = lo; p < hi; ++p) {
        const int c = static_cast<int>(p % g.channels);
        float* dx_plane = x_diff + p * in_plane;
        if (correlation) {
          std::vector<float>& padded = PaddedPlane();
          const int64_t padded_w =
              g.stride_w == 1 ? PadPlane(dy + p * out_plane, dy_geometry, &padded)
                              : DilatePlane(dy + p * out_plane, g, out_h, out_w, &padded);
          float turned[9];
          for (int t = 0; t < 9; ++t) turned[t] = weights[c * taps + 8 - t];
          Depthwise3x3Plane<1>(padded.data(), padded_w, turned, 0.f, g.height, g.width,
                               dx_plane);
          continue;
        }
        for (int64_t i = 0; i < in_plane; ++i) dx_plane[i] = 0.f;
        for_each_tap(
            p, [&](int tap, int64_t out_row, int64_t in_row, int shift, int ow_lo, int ow_hi) {
              if (ow_hi <= ow_lo) return;
              AddScaledToStrided(dy + out_row + ow_lo, weights[c * taps + tap], ow_hi - ow_lo,
                                 g.stride_w, x_diff + in_row + ow_lo * g.stride_w + shift);
            });
      }
    });
  }
}

}  // namespace cortado
