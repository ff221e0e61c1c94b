// InfogainLoss's CUDA kernels; infogain_loss_layer.cpp holds the layer and
// calls these. One thread per prediction (o, i); its class c sits at
// (o * classes + c) * inner + i.
#include "cortado/cuda.hpp"
#include "loss_math.hpp"

namespace cortado {
namespace {

__global__ void InfogainLossForwardKernel(int64_t predictions, int classes, int64_t inner,
                                          const float* prob, const float* label,
                                          const float* infogain, bool has_ignore_label,
                                          int ignore_label, float* loss) {
  CORTADO_KERNEL_LOOP(p, predictions) {
    if (IsIgnoredLabel(label[p], has_ignore_label, ignore_label)) {
      loss[p] = 0;
      continue;
    }
    const float* gain = infogain + static_cast<int64_t>(label[p]) * classes;
    const float* prob_p = prob + (p / inner) * classes * inner + p % inner;
    double sum = 0;
    for (int c = 0; c < classes; ++c) sum -= gain[c] * ClampedLog(prob_p[c * inner]);
    loss[p] = static_cast<float>(sum);
  }
}

// d/dx_c = p_c * sum_k H[label][k] - H[label][c], 0 where ignored.
__global__ void InfogainLossBackwardKernel(int64_t predictions, int classes, int64_t inner,
                                           const float* prob, const float* label,
                                           const float* infogain, bool has_ignore_label,
                                           int ignore_label, float* dx) {
  CORTADO_KERNEL_LOOP(p, predictions) {
    const int64_t first = (p / inner) * classes * inner + p % inner;
    if (IsIgnoredLabel(label[p], has_ignore_label, ignore_label)) {
      for (int c = 0; c < classes; ++c) dx[first + c * inner] = 0;
      continue;
    }
    const float* gain = infogain + static_cast<int64_t>(label[p]) * classes;
    float row_sum = 0;
    for (int c = 0; c < classes; ++c) row_sum += gain[c];
    for (int c = 0; c < classes; ++c) {
      dx[first + c * inner] = prob[first + c * inner] * row_sum - gain[c];
    }
  }
}

}  // namespace

void InfogainLossForwardGpu(int64_t outer, int classes, int64_t inner, const float* prob,
                            const float* label, const float* infogain, bool has_ignore_label,
                            int ignore_label, float* loss) {
  const int64_t predictions = outer * inner;
  InfogainLossForwardKernel<<<cuda::BlocksFor(predictions), cuda::kThreadsPerBlock>>>(
      predictions, classes, inner, prob, label, infogain, has_ignore_label, ignore_label, loss);
  cuda::CheckLaunch("InfogainLossForwardKernel");
}

void InfogainLossBackwardGpu(int64_t outer, int classes, int64_t inner, const float* prob,
                             const float* label, const float* infogain, bool has_ignore_label,
                             int ignore_label, float* dx) {
  const int64_t predictions = outer * inner;
  InfogainLossBackwardKernel<<<cuda::BlocksFor(predictions), cuda::kThreadsPerBlock>>>(
      predictions, classes, inner, prob, label, infogain, has_ignore_label, ignore_label, dx);
  cuda::CheckLaunch("InfogainLossBackwardKernel");
}

}  // namespace cortado
