// Crop's CUDA kernels; crop_layer.cpp holds the layer and calls these.
#include <vector>

#include "cortado/cuda.hpp"

namespace cortado {
namespace {

constexpr int kMaxCropAxes = 32;  // kMaxBlobAxes

// Where each top element sits in the bottom: the top index split into
// per-axis positions, each moved by its offset.
struct CropGeometry {
  int axes;
  int64_t top_shape[kMaxCropAxes];
  int64_t bottom_stride[kMaxCropAxes];
  int64_t base;  // sum of offset * bottom stride
};

__device__ int64_t BottomIndex(const CropGeometry& g, int64_t i) {
  int64_t from = g.base;
  for (int a = g.axes - 1; a >= 0; --a) {
    from += (i % g.top_shape[a]) * g.bottom_stride[a];
    i /= g.top_shape[a];
  }
  return from;
}

__global__ void CropForwardKernel(int64_t n, CropGeometry g, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, n) { y[i] = x[BottomIndex(g, i)]; }
}

// Each top element has its own bottom element, so the scatter has no races.
__global__ void CropBackwardKernel(int64_t n, CropGeometry g, const float* dy, float* dx) {
  CORTADO_KERNEL_LOOP(i, n) { dx[BottomIndex(g, i)] = dy[i]; }
}

CropGeometry MakeGeometry(const std::vector<int>& bottom_shape,
                          const std::vector<int>& top_shape, const std::vector<int>& offsets) {
  CropGeometry g{};
  g.axes = static_cast<int>(top_shape.size());
  CHECK_LE(g.axes, kMaxCropAxes);
  int64_t stride = 1;
  for (int a = g.axes - 1; a >= 0; --a) {
    g.top_shape[a] = top_shape[a];
    g.bottom_stride[a] = stride;
    g.base += offsets[a] * stride;
    stride *= bottom_shape[a];
  }
  return g;
}

}  // namespace

// The bottom diff must be zeroed by the caller before the backward scatter.
void CropGpu(const std::vector<int>& bottom_shape, const std::vector<int>& top_shape,
             const std::vector<int>& offsets, bool backward, const float* from, float* to) {
  int64_t n = 1;
  for (int d : top_shape) n *= d;
  if (n <= 0) return;
  const CropGeometry g = MakeGeometry(bottom_shape, top_shape, offsets);
  if (backward) {
    CropBackwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, g, from, to);
    cuda::CheckLaunch("CropBackwardKernel");
  } else {
    CropForwardKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, g, from, to);
    cuda::CheckLaunch("CropForwardKernel");
  }
}

}  // namespace cortado
