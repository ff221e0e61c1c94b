// Tile's CUDA kernels; tile_layer.cpp holds the layer and calls these.
#include "cortado/cuda.hpp"

namespace cortado {
namespace {

// Top element i lies in copy t of block o: y[(o * tiles + t) * inner + k] =
// x[o * inner + k].
__global__ void TileForwardKernel(int64_t n, const float* x, int tiles, int64_t inner,
                                  float* y) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t o = i / (tiles * inner), k = i % inner;
    y[i] = x[o * inner + k];
  }
}

// One thread per bottom element sums its copies in the CPU's order.
__global__ void TileBackwardKernel(int64_t n, const float* dy, int tiles, int64_t inner,
                                   float* dx) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t o = i / inner, k = i % inner;
    const float* first = dy + o * tiles * inner + k;
    float sum = first[0];
    for (int t = 1; t < tiles; ++t) sum += first[t * inner];
    dx[i] = sum;
  }
}

}  // namespace

void TileForwardGpu(int64_t bottom_count, const float* x, int tiles, int64_t inner, float* y) {
  const int64_t n = bottom_count * tiles;
  if (n <= 0) return;
  TileForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, x, tiles, inner, y);
  cuda::CheckLaunch("TileForwardKernel");
}

void TileBackwardGpu(int64_t bottom_count, const float* dy, int tiles, int64_t inner,
                     float* dx) {
  if (bottom_count <= 0) return;
  TileBackwardKernel<<<cuda::BlocksFor(bottom_count), cuda::kThreadsPerBlock>>>(
      bottom_count, dy, tiles, inner, dx);
  cuda::CheckLaunch("TileBackwardKernel");
}

}  // namespace cortado
