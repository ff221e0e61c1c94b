// Pooling's per-window formulas, shared by the CPU loops and the CUDA
// kernels so both devices pick the same elements and divide by the same
// counts.
#ifndef CORTADO_LAYERS_POOLING_MATH_HPP_
#define CORTADO_LAYERS_POOLING_MATH_HPP_

#include <cfloat>

#include "cortado/host_device.hpp"

namespace cortado {

// Output position p's window along one axis in input coordinates, clipped
// to the input as [begin, end), plus its length clipped only to the padded
// input (what Caffe's AVE pooling divides by).
struct PoolSpan {
  int begin, end, padded_length;
};

CORTADO_HD inline PoolSpan PoolingSpan(int p, int size, int kernel, int stride, int pad) {
  const int begin = p * stride - pad;
  const int padded_end = begin + kernel < size + pad ? begin + kernel : size + pad;
  return {begin > 0 ? begin : 0, padded_end < size ? padded_end : size, padded_end - begin};
}

// The largest value in the window and (in *index) its in-plane index: the
// first in row-major order on ties (strict `>`); -1 only for NaN windows.
CORTADO_HD inline float PoolWindowMax(const float* x, int width, PoolSpan r, PoolSpan c,
                                      int* index) {
  float best = -FLT_MAX;
  int best_index = -1;
  for (int h = r.begin; h < r.end; ++h) {
    for (int w = c.begin; w < c.end; ++w) {
      if (x[h * width + w] > best) {
        best = x[h * width + w];
        best_index = h * width + w;
      }
    }
  }
  *index = best_index;
  return best;
}

CORTADO_HD inline float PoolWindowAverage(const float* x, int width, PoolSpan r, PoolSpan c) {
  float sum = 0;
  for (int h = r.begin; h < r.end; ++h) {
    for (int w = c.begin; w < c.end; ++w) sum += x[h * width + w];
  }
  return sum / (r.padded_length * c.padded_length);
}

// STOCHASTIC training: picks an element with probability proportional to
// its value (inputs are expected non-negative, e.g. after ReLU). u in
// [0, 1) comes from the host RNG; the pick is the first element whose
// running sum reaches u * (window sum), the last one if rounding keeps the
// running sum below. Sums run in row-major order on both devices, so they
// pick the same element.
CORTADO_HD inline float PoolWindowStochastic(const float* x, int width, PoolSpan r, PoolSpan c,
                                             float u, int* index) {
  float sum = 0;
  for (int h = r.begin; h < r.end; ++h) {
    for (int w = c.begin; w < c.end; ++w) sum += x[h * width + w];
  }
  const float threshold = u * sum;
  float running = 0;
  for (int h = r.begin; h < r.end; ++h) {
    for (int w = c.begin; w < c.end; ++w) {
      running += x[h * width + w];
      if (running >= threshold) {
        *index = h * width + w;
        return x[h * width + w];
      }
    }
  }
  *index = (r.end - 1) * width + (c.end - 1);
  return x[*index];
}

// STOCHASTIC testing: the expected value of the training pick,
// sum(x^2) / sum(x); FLT_MIN keeps an all-zero window at 0.
CORTADO_HD inline float PoolWindowStochasticMean(const float* x, int width, PoolSpan r,
                                                 PoolSpan c) {
  float sum = FLT_MIN, squares = 0;
  for (int h = r.begin; h < r.end; ++h) {
    for (int w = c.begin; w < c.end; ++w) {
      const float v = x[h * width + w];
      sum += v;
      squares += v * v;
    }
  }
  return squares / sum;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_POOLING_MATH_HPP_
