// SoftmaxWithLoss's CUDA kernels; softmax_with_loss_layer.cpp holds the
// layer, checks the labels on the host and calls these. One thread per
// (outer, inner) prediction.
#include <cfloat>

#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__device__ int LabelOf(const float* label, int64_t p, bool has_ignore, int ignore_label) {
  const int value = static_cast<int>(label[p]);
  return has_ignore && value == ignore_label ? -1 : value;
}

__global__ void SoftmaxLossKernel(int64_t positions, int channels, int64_t inner,
                                  const float* prob, const float* label, bool has_ignore,
                                  int ignore_label, float* loss) {
  CORTADO_KERNEL_LOOP(p, positions) {
    const int value = LabelOf(label, p, has_ignore, ignore_label);
    if (value < 0) {
      loss[p] = 0;
      continue;
    }
    const float q = prob[((p / inner) * channels + value) * inner + p % inner];
    loss[p] = -logf(fmaxf(q, FLT_MIN));
  }
}

// dx already holds prob: subtract the one-hot label, zero ignored columns.
__global__ void SoftmaxLossGradientKernel(int64_t positions, int channels, int64_t inner,
                                          const float* label, bool has_ignore,
                                          int ignore_label, float* dx) {
  CORTADO_KERNEL_LOOP(p, positions) {
    const int value = LabelOf(label, p, has_ignore, ignore_label);
    const int64_t base = (p / inner) * channels * inner + p % inner;
    if (value < 0) {
      for (int c = 0; c < channels; ++c) dx[base + c * inner] = 0;
    } else {
      dx[base + value * inner] -= 1.f;
    }
  }
}

}  // namespace

// loss[p] = -log(prob of p's label), 0 where ignored.
void SoftmaxLossForwardGpu(int64_t outer, int channels, int64_t inner, const float* prob,
                           const float* label, bool has_ignore, int ignore_label, float* loss) {
  const int64_t positions = outer * inner;
  if (positions <= 0) return;
  SoftmaxLossKernel<<<cuda::BlocksFor(positions), cuda::kThreadsPerBlock>>>(
      positions, channels, inner, prob, label, has_ignore, ignore_label, loss);
  cuda::CheckLaunch("SoftmaxLossKernel");
}

void SoftmaxLossBackwardGpu(int64_t outer, int channels, int64_t inner, const float* label,
                            bool has_ignore, int ignore_label, float* dx) {
  const int64_t positions = outer * inner;
  if (positions <= 0) return;
  SoftmaxLossGradientKernel<<<cuda::BlocksFor(positions), cuda::kThreadsPerBlock>>>(
      positions, channels, inner, label, has_ignore, ignore_label, dx);
  cuda::CheckLaunch("SoftmaxLossGradientKernel");
}

}  // namespace cortado
