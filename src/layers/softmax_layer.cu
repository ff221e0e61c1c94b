// Softmax's CUDA kernels; softmax_layer.cpp holds the layer and calls these.
// One thread per (outer, inner) position walks its channels, as the CPU
// loop does per position; each reads an x before writing the same y, so
// both work in place.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void SoftmaxForwardKernel(int64_t positions, int channels, int64_t inner,
                                     const float* x, float* y) {
  CORTADO_KERNEL_LOOP(p, positions) {
    const int64_t base = (p / inner) * channels * inner + p % inner;
    float best = x[base];
    for (int c = 1; c < channels; ++c) best = fmaxf(best, x[base + c * inner]);
    // Subtracting the max keeps exp from overflowing.
    float sum = 0;
    for (int c = 0; c < channels; ++c) {
      const float e = expf(x[base + c * inner] - best);
      y[base + c * inner] = e;
      sum += e;
    }
    const float inv = 1.f / sum;
    for (int c = 0; c < channels; ++c) y[base + c * inner] *= inv;
  }
}

// dx_c = y_c * (dy_c - sum_k dy_k y_k).
__global__ void SoftmaxBackwardKernel(int64_t positions, int channels, int64_t inner,
                                      const float* y, const float* dy, float* dx) {
  CORTADO_KERNEL_LOOP(p, positions) {
    const int64_t base = (p / inner) * channels * inner + p % inner;
    float dot = 0;
    for (int c = 0; c < channels; ++c) dot += dy[base + c * inner] * y[base + c * inner];
    for (int c = 0; c < channels; ++c) {
      const int64_t k = base + c * inner;
      dx[k] = y[k] * (dy[k] - dot);
    }
  }
}

}  // namespace

void SoftmaxForwardGpu(int64_t outer, int channels, int64_t inner, const float* x, float* y) {
  const int64_t positions = outer * inner;
  if (positions <= 0 || channels <= 0) return;
  SoftmaxForwardKernel<<<cuda::BlocksFor(positions), cuda::kThreadsPerBlock>>>(
      positions, channels, inner, x, y);
  cuda::CheckLaunch("SoftmaxForwardKernel");
}

void SoftmaxBackwardGpu(int64_t outer, int channels, int64_t inner, const float* y,
                        const float* dy, float* dx) {
  const int64_t positions = outer * inner;
  if (positions <= 0 || channels <= 0) return;
  SoftmaxBackwardKernel<<<cuda::BlocksFor(positions), cuda::kThreadsPerBlock>>>(
      positions, channels, inner, y, dy, dx);
  cuda::CheckLaunch("SoftmaxBackwardKernel");
}

}  // namespace cortado
