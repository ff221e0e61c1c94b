// Dropout's CUDA kernel; dropout_layer.cpp draws the mask on the host and
// calls this with the mask copied to the device.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void DropoutKernel(int64_t n, const float* x, const unsigned* mask, float scale,
                              float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = mask[i] ? x[i] * scale : 0.f; }
}

}  // namespace

// y = mask ? x * scale : 0; forward (x = bottom) and backward (x = dy) alike.
void DropoutApplyGpu(int64_t n, const float* x, const unsigned* mask, float scale, float* y) {
  if (n <= 0) return;
  DropoutKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, mask, scale, y);
  cuda::CheckLaunch("DropoutKernel");
}

}  // namespace cortado
