// Pooling's own CUDA kernels (the CAFFE engine, and every case cuDNN cannot
// take); pooling_layer.cpp holds the layer and calls these. The window
// formulas are pooling_math.hpp's, shared with the CPU.
#include "cortado/cuda.hpp"
#include "pooling_cudnn.hpp"
#include "pooling_math.hpp"

namespace cortado {
namespace {

constexpr int kMax = 0, kAve = 1;  // PoolingParameter::PoolMethod; 2 is STOCHASTIC

// One thread per output element. index (may be null) gets the in-plane
// index of the picked element for MAX and STOCHASTIC training; uniform is
// non-null exactly for STOCHASTIC training.
__global__ void PoolingForwardKernel(int64_t n, PoolingShape s, int method, const float* x,
                                     const float* uniform, float* y, float* index) {
  CORTADO_KERNEL_LOOP(o, n) {
    const int pw = static_cast<int>(o % s.pooled_w);
    const int ph = static_cast<int>((o / s.pooled_w) % s.pooled_h);
    const int64_t plane = o / (int64_t(s.pooled_w) * s.pooled_h);
    const float* in = x + plane * s.height * s.width;
    const PoolSpan r = PoolingSpan(ph, s.height, s.kernel_h, s.stride_h, s.pad_h);
    const PoolSpan c = PoolingSpan(pw, s.width, s.kernel_w, s.stride_w, s.pad_w);
    int picked = -1;
    if (method == kMax) {
      y[o] = PoolWindowMax(in, s.width, r, c, &picked);
    } else if (method == kAve) {
      y[o] = PoolWindowAverage(in, s.width, r, c);
    } else if (uniform) {
      y[o] = PoolWindowStochastic(in, s.width, r, c, uniform[o], &picked);
    } else {
      y[o] = PoolWindowStochasticMean(in, s.width, r, c);
    }
    if (index) index[o] = static_cast<float>(picked);
  }
}

// One thread per input element gathers from the windows that cover it, in
// the (ph, pw) order the CPU scatters in. index non-null: the gradient goes
// only where the window picked this element (MAX, STOCHASTIC training);
// null: AVE's equal shares.
__global__ void PoolingBackwardKernel(int64_t n, PoolingShape s, const float* dy,
                                      const float* index, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int w = static_cast<int>(i % s.width);
    const int h = static_cast<int>((i / s.width) % s.height);
    const int64_t plane = i / (int64_t(s.width) * s.height);
    // Windows p with p * stride - pad <= h < p * stride - pad + kernel.
    const int h_shifted = h + s.pad_h, w_shifted = w + s.pad_w;
    const int ph0 = h_shifted < s.kernel_h ? 0 : (h_shifted - s.kernel_h) / s.stride_h + 1;
    const int pw0 = w_shifted < s.kernel_w ? 0 : (w_shifted - s.kernel_w) / s.stride_w + 1;
    const int ph1 = min(h_shifted / s.stride_h + 1, s.pooled_h);
    const int pw1 = min(w_shifted / s.stride_w + 1, s.pooled_w);
    const int64_t out_base = plane * s.pooled_h * s.pooled_w;
    const float here = static_cast<float>(h * s.width + w);
    float sum = 0;
    for (int ph = ph0; ph < ph1; ++ph) {
      for (int pw = pw0; pw < pw1; ++pw) {
        const int64_t o = out_base + int64_t(ph) * s.pooled_w + pw;
        if (index) {
          if (index[o] == here) sum += dy[o];
        } else {
          const PoolSpan r = PoolingSpan(ph, s.height, s.kernel_h, s.stride_h, s.pad_h);
          const PoolSpan c = PoolingSpan(pw, s.width, s.kernel_w, s.stride_w, s.pad_w);
          sum += dy[o] / (r.padded_length * c.padded_length);
        }
      }
    }
    dx[i] = sum;
  }
}

}  // namespace

void PoolingForwardGpu(const PoolingShape& s, int method, const float* x, const float* uniform,
                       float* y, float* index) {
  const int64_t n = int64_t(s.num) * s.channels * s.pooled_h * s.pooled_w;
  if (n <= 0) return;
  PoolingForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, s, method, x, uniform,
                                                                        y, index);
  cuda::CheckLaunch("PoolingForwardKernel");
}

void PoolingBackwardGpu(const PoolingShape& s, const float* dy, const float* index, float* dx) {
  const int64_t n = int64_t(s.num) * s.channels * s.height * s.width;
  if (n <= 0) return;
  PoolingBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, s, dy, index, dx);
  cuda::CheckLaunch("PoolingBackwardKernel");
}

}  // namespace cortado
