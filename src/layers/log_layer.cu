// Log's CUDA kernels; log_layer.cpp holds the layer and calls these.
#include "activation_math.hpp"
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void LogForwardKernel(int64_t n, const float* x, float scale, float shift,
                                 float base_scale, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = LogValue(x[i], scale, shift, base_scale); }
}

__global__ void LogBackwardKernel(int64_t n, const float* dy, const float* x, float scale,
                                  float shift, float numerator, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[i] = LogGradient(dy[i], x[i], scale, shift, numerator); }
}

}  // namespace

void LogForwardGpu(int64_t n, const float* x, float scale, float shift, float base_scale,
                   float* y) {
  LogForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, scale, shift,
                                                                    base_scale, y);
  cuda::CheckLaunch("LogForwardKernel");
}

void LogBackwardGpu(int64_t n, const float* dy, const float* x, float scale, float shift,
                    float numerator, float* dx) {
  LogBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, dy, x, scale, shift,
                                                                     numerator, dx);
  cuda::CheckLaunch("LogBackwardKernel");
}

}  // namespace cortado
