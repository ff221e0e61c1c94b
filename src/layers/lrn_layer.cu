// LRN's CUDA kernels; lrn_layer.cpp holds the layer and calls these. One
// thread per element sums its own window (the CPU slides a running sum; the
// results agree to rounding).
#include "cortado/cuda.hpp"
#include "lrn_math.hpp"

namespace cortado {
namespace {

struct LrnShape {
  int channels, height, width;
  int local_size, pre_pad;
};

// Sum over the channel window [c - pre_pad, c + pre_pad] clipped, of
// v * w (w null: v * v).
__device__ float ChannelWindowSum(const LrnShape& s, int64_t k, const float* v,
                                  bool square) {
  const int64_t plane = int64_t(s.height) * s.width;
  const int c = static_cast<int>((k / plane) % s.channels);
  const int64_t first = k - int64_t(c) * plane;  // same position, channel 0
  const int c0 = c - s.pre_pad > 0 ? c - s.pre_pad : 0;
  const int c1 = c + s.pre_pad + 1 < s.channels ? c + s.pre_pad + 1 : s.channels;
  float sum = 0;
  for (int cc = c0; cc < c1; ++cc) {
    const float value = v[first + int64_t(cc) * plane];
    sum += square ? value * value : value;
  }
  return sum;
}

// The spatial window average (divided by the padded area) of v or v * v.
__device__ float SpatialWindowAverage(const LrnShape& s, int64_t k, const float* v,
                                      bool square) {
  const int64_t plane = int64_t(s.height) * s.width;
  const int64_t start = k - k % plane;
  const int h = static_cast<int>((k % plane) / s.width), w = static_cast<int>(k % s.width);
  int h0, h1, w0, w1;
  const int span_h = LrnSpatialWindow(h, s.height, s.pre_pad, s.local_size, &h0, &h1);
  const int span_w = LrnSpatialWindow(w, s.width, s.pre_pad, s.local_size, &w0, &w1);
  float sum = 0;
  for (int i = h0; i < h1; ++i) {
    for (int j = w0; j < w1; ++j) {
      const float value = v[start + int64_t(i) * s.width + j];
      sum += square ? value * value : value;
    }
  }
  return sum / (span_h * span_w);
}

__global__ void LrnForwardKernel(int64_t n, LrnShape s, bool across, float alpha, float beta,
                                 float k_param, const float* x, float* scale, float* y) {
  CORTADO_KERNEL_LOOP(k, n) {
    const float base = across ? k_param + alpha / s.local_size * ChannelWindowSum(s, k, x, true)
                              : 1.f + alpha * SpatialWindowAverage(s, k, x, true);
    scale[k] = base;
    y[k] = x[k] * powf(base, -beta);
  }
}

__global__ void LrnRatioKernel(int64_t n, const float* y, const float* dy, const float* scale,
                               float* ratio) {
  CORTADO_KERNEL_LOOP(k, n) { ratio[k] = dy[k] * y[k] / scale[k]; }
}

__global__ void LrnBackwardKernel(int64_t n, LrnShape s, bool across, float factor,
                                  float beta, const float* x, const float* dy,
                                  const float* scale, const float* ratio, float* dx) {
  CORTADO_KERNEL_LOOP(k, n) {
    const float window = across ? ChannelWindowSum(s, k, ratio, false)
                                : SpatialWindowAverage(s, k, ratio, false);
    dx[k] = dy[k] * powf(scale[k], -beta) - factor * x[k] * window;
  }
}

}  // namespace

// scale gets the denominator base per element (kept for the backward pass).
void LrnForwardGpu(int64_t n, int channels, int height, int width, int local_size,
                   bool across, float alpha, float beta, float k, const float* x,
                   float* scale, float* y) {
  if (n <= 0) return;
  const LrnShape s{channels, height, width, local_size, (local_size - 1) / 2};
  LrnForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, s, across, alpha, beta,
                                                                    k, x, scale, y);
  cuda::CheckLaunch("LrnForwardKernel");
}

// ratio is scratch of n elements.
void LrnBackwardGpu(int64_t n, int channels, int height, int width, int local_size,
                    bool across, float alpha, float beta, const float* x, const float* y,
                    const float* dy, const float* scale, float* ratio, float* dx) {
  if (n <= 0) return;
  const LrnShape s{channels, height, width, local_size, (local_size - 1) / 2};
  LrnRatioKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, y, dy, scale, ratio);
  cuda::CheckLaunch("LrnRatioKernel");
  // The CPU's factors: within-channel windows are averages already.
  const float factor = across ? 2.f * alpha * beta / local_size : 2.f * alpha * beta;
  LrnBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, s, across, factor, beta,
                                                                     x, dy, scale, ratio, dx);
  cuda::CheckLaunch("LrnBackwardKernel");
}

}  // namespace cortado
