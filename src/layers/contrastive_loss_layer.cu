// ContrastiveLoss's CUDA kernels; contrastive_loss_layer.cpp holds the layer
// and calls these. diff = a - b is num x dim, one similarity label per pair.
#include "cortado/cuda.hpp"
#include "loss_math.hpp"

namespace cortado {
namespace {

// One thread per pair, summing its squared differences in the CPU's order.
__global__ void ContrastiveLossForwardKernel(int num, int64_t dim, const float* diff,
                                             const float* similar, float margin, bool legacy,
                                             float* distance_sq, float* pair_loss) {
  CORTADO_KERNEL_LOOP(n, num) {
    float sum = 0;
    for (int64_t k = n * dim; k < (n + 1) * dim; ++k) sum += diff[k] * diff[k];
    distance_sq[n] = sum;
    pair_loss[n] =
        static_cast<float>(ContrastivePairLoss(IsSimilarPair(similar[n]), sum, margin, legacy));
  }
}

__global__ void ContrastiveLossBackwardKernel(int64_t count, int64_t dim, const float* diff,
                                              const float* similar, const float* distance_sq,
                                              float margin, bool legacy, float alpha,
                                              float* dx) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int64_t n = i / dim;
    dx[i] = ContrastiveFactor(IsSimilarPair(similar[n]), distance_sq[n], margin, legacy, alpha) *
            diff[i];
  }
}

}  // namespace

void ContrastiveLossForwardGpu(int num, int64_t dim, const float* diff, const float* similar,
                               float margin, bool legacy, float* distance_sq, float* pair_loss) {
  ContrastiveLossForwardKernel<<<cuda::BlocksFor(num), cuda::kThreadsPerBlock>>>(
      num, dim, diff, similar, margin, legacy, distance_sq, pair_loss);
  cuda::CheckLaunch("ContrastiveLossForwardKernel");
}

void ContrastiveLossBackwardGpu(int num, int64_t dim, const float* diff, const float* similar,
                                const float* distance_sq, float margin, bool legacy,
                                float alpha, float* dx) {
  const int64_t count = num * dim;
  ContrastiveLossBackwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(
      count, dim, diff, similar, distance_sq, margin, legacy, alpha, dx);
  cuda::CheckLaunch("ContrastiveLossBackwardKernel");
}

}  // namespace cortado
