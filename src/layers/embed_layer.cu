// Embed's CUDA kernels; embed_layer.cpp holds the layer (and checks the
// indices) and calls these.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// y[i][j] = w[index[i]][j]; thread per output element.
__global__ void EmbedForwardKernel(int64_t n, const float* index, const float* w, int outputs,
                                   float* y) {
  CORTADO_KERNEL_LOOP(e, n) {
    const int64_t row = static_cast<int64_t>(index[e / outputs]);
    y[e] = w[row * outputs + e % outputs];
  }
}

// dw[index[i]][j] += dy[i][j]. Repeated indices add into one row, hence the
// atomics; float addition order may then vary between runs.
__global__ void EmbedBackwardKernel(int64_t n, const float* index, const float* dy, int outputs,
                                    float* dw) {
  CORTADO_KERNEL_LOOP(e, n) {
    const int64_t row = static_cast<int64_t>(index[e / outputs]);
    atomicAdd(dw + row * outputs + e % outputs, dy[e]);
  }
}

}  // namespace

void EmbedForwardGpu(int64_t count, const float* index, const float* w, int outputs, float* y) {
  const int64_t n = count * outputs;
  if (n <= 0) return;
  EmbedForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, index, w, outputs, y);
  cuda::CheckLaunch("EmbedForwardKernel");
}

void EmbedBackwardGpu(int64_t count, const float* index, const float* dy, int outputs,
                      float* dw) {
  const int64_t n = count * outputs;
  if (n <= 0) return;
  EmbedBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, index, dy, outputs, dw);
  cuda::CheckLaunch("EmbedBackwardKernel");
}

}  // namespace cortado
