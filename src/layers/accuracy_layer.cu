// Accuracy's CUDA kernel; accuracy_layer.cpp holds the layer, checks the
// labels and tallies on the host.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// correct[p] = 1 when fewer than top_k classes score at least the true
// class's score (ties count against it, as on the CPU), else 0. Ignored and
// out-of-range labels give 0; the host has already rejected the latter.
__global__ void AccuracyKernel(int64_t positions, int classes, int64_t inner,
                               const float* score, const float* label, int top_k,
                               float* correct) {
  CORTADO_KERNEL_LOOP(p, positions) {
    const int value = static_cast<int>(label[p]);
    if (value < 0 || value >= classes) {
      correct[p] = 0;
      continue;
    }
    const float* s = score + (p / inner) * classes * inner + p % inner;
    const float truth = s[value * inner];
    int better = 0;
    for (int c = 0; c < classes; ++c) {
      if (c != value && s[c * inner] >= truth) ++better;
    }
    correct[p] = better < top_k ? 1.f : 0.f;
  }
}

}  // namespace

void AccuracyCorrectGpu(int64_t outer, int classes, int64_t inner, const float* score,
                        const float* label, int top_k, float* correct) {
  const int64_t positions = outer * inner;
  if (positions <= 0) return;
  AccuracyKernel<<<cuda::BlocksFor(positions), cuda::kThreadsPerBlock>>>(
      positions, classes, inner, score, label, top_k, correct);
  cuda::CheckLaunch("AccuracyKernel");
}

}  // namespace cortado
