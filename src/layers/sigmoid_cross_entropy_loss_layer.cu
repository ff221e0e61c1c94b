// SigmoidCrossEntropyLoss's CUDA kernels; sigmoid_cross_entropy_loss_layer.cpp
// holds the layer, calls these and reduces their per-element output.
#include "cortado/cuda.hpp"
#include "loss_math.hpp"

namespace cortado {
namespace {

__global__ void SigmoidCrossEntropyLossForwardKernel(int64_t n, const float* x, const float* t,
                                                     bool has_ignore_label, int ignore_label,
                                                     float* loss, float* valid) {
  CORTADO_KERNEL_LOOP(i, n) {
    const bool ignored = IsIgnoredLabel(t[i], has_ignore_label, ignore_label);
    loss[i] = ignored ? 0.f : SigmoidCrossEntropy(x[i], t[i]);
    valid[i] = ignored ? 0.f : 1.f;
  }
}

__global__ void SigmoidCrossEntropyLossBackwardKernel(int64_t n, const float* x, const float* t,
                                                      bool has_ignore_label, int ignore_label,
                                                      float* dx, float* valid) {
  CORTADO_KERNEL_LOOP(i, n) {
    const bool ignored = IsIgnoredLabel(t[i], has_ignore_label, ignore_label);
    dx[i] = ignored ? 0.f : SigmoidCrossEntropyGradient(x[i], t[i]);
    valid[i] = ignored ? 0.f : 1.f;
  }
}

}  // namespace

void SigmoidCrossEntropyLossForwardGpu(int64_t n, const float* x, const float* t,
                                       bool has_ignore_label, int ignore_label, float* loss,
                                       float* valid) {
  SigmoidCrossEntropyLossForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, x, t, has_ignore_label, ignore_label, loss, valid);
  cuda::CheckLaunch("SigmoidCrossEntropyLossForwardKernel");
}

void SigmoidCrossEntropyLossBackwardGpu(int64_t n, const float* x, const float* t,
                                        bool has_ignore_label, int ignore_label, float* dx,
                                        float* valid) {
  SigmoidCrossEntropyLossBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, x, t, has_ignore_label, ignore_label, dx, valid);
  cuda::CheckLaunch("SigmoidCrossEntropyLossBackwardKernel");
}

}  // namespace cortado
