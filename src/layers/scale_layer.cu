// Scale's CUDA kernel; scale_layer.cpp holds the layer and calls it.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void ScaleKernel(int64_t n, const float* x, const float* scale, const float* bias,
                            int64_t scale_dim, int64_t inner, float* y) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t s = (i / inner) % scale_dim;
    y[i] = x[i] * scale[s] + (bias ? bias[s] : 0.f);
  }
}

}  // namespace

// y = x * scale[s] (+ bias[s]) where s is the element's position on the
// scale axes; bias may be null. Also the bottom gradient (x = dy, no bias).
void ScaleForwardGpu(int64_t n, const float* x, const float* scale, const float* bias,
                     int64_t scale_dim, int64_t inner, float* y) {
  if (n <= 0) return;
  ScaleKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, scale, bias, scale_dim,
                                                               inner, y);
  cuda::CheckLaunch("ScaleKernel");
}

}  // namespace cortado
