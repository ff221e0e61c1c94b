// MultinomialLogisticLoss's CUDA kernels; multinomial_logistic_loss_layer.cpp
// holds the layer and calls these. One thread per item.
#include "cortado/cuda.hpp"
#include "loss_math.hpp"

namespace cortado {
namespace {

__global__ void MultinomialLogisticLossForwardKernel(int num, int64_t dim, const float* p,
                                                     const float* label, float* item_loss) {
  CORTADO_KERNEL_LOOP(n, num) {
    item_loss[n] = -ClampedLog(p[n * dim + static_cast<int>(label[n])]);
  }
}

__global__ void MultinomialLogisticLossBackwardKernel(int num, int64_t dim, const float* p,
                                                      const float* label, float scale,
                                                      float* dp) {
  CORTADO_KERNEL_LOOP(n, num) {
    const int64_t at = n * dim + static_cast<int>(label[n]);
    dp[at] = scale / ClampProbability(p[at]);
  }
}

}  // namespace

void MultinomialLogisticLossForwardGpu(int num, int64_t dim, const float* p, const float* label,
                                       float* item_loss) {
  MultinomialLogisticLossForwardKernel<<<cuda::BlocksFor(num), cuda::kThreadsPerBlock>>>(
      num, dim, p, label, item_loss);
  cuda::CheckLaunch("MultinomialLogisticLossForwardKernel");
}

void MultinomialLogisticLossBackwardGpu(int num, int64_t dim, const float* p,
                                        const float* label, float scale, float* dp) {
  MultinomialLogisticLossBackwardKernel<<<cuda::BlocksFor(num), cuda::kThreadsPerBlock>>>(
      num, dim, p, label, scale, dp);
  cuda::CheckLaunch("MultinomialLogisticLossBackwardKernel");
}

}  // namespace cortado
