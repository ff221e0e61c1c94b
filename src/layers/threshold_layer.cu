// Threshold's CUDA kernel; threshold_layer.cpp holds the layer and calls it.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ThresholdForwardKernel(int64_t n, const float* x, float threshold, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = ThresholdValue(x[i], threshold); }
}

}  // namespace

void ThresholdForwardGpu(int64_t n, const float* x, float threshold, float* y) {
  ThresholdForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, threshold, y);
  cuda::CheckLaunch("ThresholdForwardKernel");
}

}  // namespace cortado
