// Upsample's CUDA kernels; upsample_layer.cpp holds the layer and calls
// these. Nearest-neighbour backward gathers each input's output rectangle
// (no atomics), as the CPU loop does; unpooling scatters through the mask and reports a bad mask
// value back to the host, which throws the CPU path's error.
#include "cortado/cuda.hpp"
#include "upsample_math.hpp"

namespace cortado {
namespace {

// The first invalid mask value a kernel met, if any.
struct MaskError {
  int found;
  float value;
};

__device__ inline void ReportBadMask(MaskError* error, float value) {
  if (atomicExch(&error->found, 1) == 0) error->value = value;
}

__global__ void UpsampleNearestForwardKernel(int64_t count, UpsampleGeometry g, const float* x,
                                             float* y) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int w = static_cast<int>(i % g.out_w);
    const int h = static_cast<int>(i / g.out_w % g.out_h);
    const int64_t p = i / (static_cast<int64_t>(g.out_w) * g.out_h);
    const int sh = UpsampleNearestSource(h, g.scale_h, g.in_h);
    const int sw = UpsampleNearestSource(w, g.scale_w, g.in_w);
    y[i] = x[(p * g.in_h + sh) * g.in_w + sw];
  }
}

__global__ void UpsampleNearestBackwardKernel(int64_t count, UpsampleGeometry g,
                                              const float* dy, float* dx) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int sw = static_cast<int>(i % g.in_w);
    const int sh = static_cast<int>(i / g.in_w % g.in_h);
    const int64_t p = i / (static_cast<int64_t>(g.in_w) * g.in_h);
    dx[i] = UpsampleNearestGradient(dy + p * g.out_h * g.out_w, sh, sw, g);
  }
}

// Distinct inputs naming one output position (overlapping pooling) race
// here, where the CPU keeps the last; a max-pooling mask rarely does.
__global__ void UpsampleMaskForwardKernel(int64_t count, UpsampleGeometry g, const float* x,
                                          const float* mask, float* y, MaskError* error) {
  const int64_t in_plane = static_cast<int64_t>(g.in_h) * g.in_w;
  const int64_t out_plane = static_cast<int64_t>(g.out_h) * g.out_w;
  CORTADO_KERNEL_LOOP(i, count) {
    if (!UpsampleMaskValid(mask[i], out_plane)) {
      ReportBadMask(error, mask[i]);
      continue;
    }
    y[i / in_plane * out_plane + static_cast<int64_t>(mask[i])] = x[i];
  }
}

__global__ void UpsampleMaskBackwardKernel(int64_t count, UpsampleGeometry g, const float* dy,
                                           const float* mask, float* dx, MaskError* error) {
  const int64_t in_plane = static_cast<int64_t>(g.in_h) * g.in_w;
  const int64_t out_plane = static_cast<int64_t>(g.out_h) * g.out_w;
  CORTADO_KERNEL_LOOP(i, count) {
    if (!UpsampleMaskValid(mask[i], out_plane)) {
      ReportBadMask(error, mask[i]);
      dx[i] = 0;
      continue;
    }
    dx[i] = dy[i / in_plane * out_plane + static_cast<int64_t>(mask[i])];
  }
}

// Runs a mask kernel over the input elements; false (and the value) when it
// met a bad mask value.
template <typename Kernel>
bool RunMaskKernel(Kernel kernel, const char* name, const UpsampleGeometry& g, const float* a,
                   const float* mask, float* b, float* bad_value) {
  const int64_t count = g.planes * g.in_h * g.in_w;
  MaskError* error = static_cast<MaskError*>(cuda::Workspace(sizeof(MaskError)));
  cuda::Check(cudaMemset(error, 0, sizeof(MaskError)), "cudaMemset");
  kernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, g, a, mask, b, error);
  cuda::CheckLaunch(name);
  MaskError result;
  cuda::Check(cudaMemcpy(&result, error, sizeof(MaskError), cudaMemcpyDeviceToHost),
              "cudaMemcpy of the mask check");
  *bad_value = result.value;
  return result.found == 0;
}

}  // namespace

void UpsampleNearestForwardGpu(const UpsampleGeometry& g, const float* x, float* y) {
  const int64_t count = g.planes * g.out_h * g.out_w;
  UpsampleNearestForwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, g, x,
                                                                                    y);
  cuda::CheckLaunch("UpsampleNearestForwardKernel");
}

void UpsampleNearestBackwardGpu(const UpsampleGeometry& g, const float* dy, float* dx) {
  const int64_t count = g.planes * g.in_h * g.in_w;
  UpsampleNearestBackwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(count, g, dy,
                                                                                     dx);
  cuda::CheckLaunch("UpsampleNearestBackwardKernel");
}

bool UpsampleMaskForwardGpu(const UpsampleGeometry& g, const float* x, const float* mask,
                            float* y, float* bad_value) {
  return RunMaskKernel(UpsampleMaskForwardKernel, "UpsampleMaskForwardKernel", g, x, mask, y,
                       bad_value);
}

bool UpsampleMaskBackwardGpu(const UpsampleGeometry& g, const float* dy, const float* mask,
                             float* dx, float* bad_value) {
  return RunMaskKernel(UpsampleMaskBackwardKernel, "UpsampleMaskBackwardKernel", g, dy, mask, dx,
                       bad_value);
}

}  // namespace cortado
