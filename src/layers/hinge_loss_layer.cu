// HingeLoss's CUDA kernels; hinge_loss_layer.cpp holds the layer and calls
// these. Scores and margins are num x dim, one (checked) label per item.
#include "cortado/cuda.hpp"
#include "loss_math.hpp"

namespace cortado {
namespace {

__global__ void HingeLossForwardKernel(int64_t n, int64_t dim, const float* scores,
                                       const float* label, float* margins) {
  CORTADO_KERNEL_LOOP(i, n) {
    const bool is_truth = i % dim == static_cast<int>(label[i / dim]);
    margins[i] = HingeMargin(scores[i], is_truth);
  }
}

__global__ void HingeLossBackwardKernel(int64_t n, int64_t dim, const float* margins,
                                        const float* label, bool squared, float scale,
                                        float* dscores) {
  CORTADO_KERNEL_LOOP(i, n) {
    const bool is_truth = i % dim == static_cast<int>(label[i / dim]);
    dscores[i] = scale * HingeGradient(margins[i], is_truth, squared);
  }
}

}  // namespace

void HingeLossForwardGpu(int num, int64_t dim, const float* scores, const float* label,
                         float* margins) {
  const int64_t n = num * dim;
  HingeLossForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dim, scores, label,
                                                                          margins);
  cuda::CheckLaunch("HingeLossForwardKernel");
}

void HingeLossBackwardGpu(int num, int64_t dim, const float* margins, const float* label,
                          bool squared, float scale, float* dscores) {
  const int64_t n = num * dim;
  HingeLossBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(
      n, dim, margins, label, squared, scale, dscores);
  cuda::CheckLaunch("HingeLossBackwardKernel");
}

}  // namespace cortado
