// Interp's CUDA kernels; interp_layer.cpp holds the layer and calls these.
// One thread per output value; the taps come from the same InterpTapAt as
// the CPU's tables.
#include "cortado/cuda.hpp"
#include "interp_math.hpp"

namespace cortado {
namespace {

__global__ void InterpForwardKernel(int64_t count, InterpGeometry g, float row_ratio,
                                    float col_ratio, const float* x, float* y) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int w = static_cast<int>(i % g.out_w);
    const int h = static_cast<int>(i / g.out_w % g.out_h);
    const int64_t p = i / (static_cast<int64_t>(g.out_w) * g.out_h);
    const InterpTap r = InterpTapAt(h, row_ratio, g.in_h, g.offset);
    const InterpTap c = InterpTapAt(w, col_ratio, g.in_w, g.offset);
    y[i] = InterpBlend(x + p * g.height * g.width, g.width, r, c);
  }
}

// Each output adds to four inputs, which other outputs share: atomics, so
// the order of the additions (not their terms) differs from the CPU's.
__global__ void InterpBackwardKernel(int64_t count, InterpGeometry g, float row_ratio,
                                     float col_ratio, const float* dy, float* dx) {
  CORTADO_KERNEL_LOOP(i, count) {
    const int w = static_cast<int>(i % g.out_w);
    const int h = static_cast<int>(i / g.out_w % g.out_h);
    const int64_t p = i / (static_cast<int64_t>(g.out_w) * g.out_h);
    const InterpTap r = InterpTapAt(h, row_ratio, g.in_h, g.offset);
    const InterpTap c = InterpTapAt(w, col_ratio, g.in_w, g.offset);
    float* dxp = dx + p * g.height * g.width;
    const float grad = dy[i];
    atomicAdd(&dxp[r.i0 * g.width + c.i0], r.w0 * c.w0 * grad);
    atomicAdd(&dxp[r.i0 * g.width + c.i1], r.w0 * c.w1 * grad);
    atomicAdd(&dxp[r.i1 * g.width + c.i0], r.w1 * c.w0 * grad);
    atomicAdd(&dxp[r.i1 * g.width + c.i1], r.w1 * c.w1 * grad);
  }
}

}  // namespace

void InterpForwardGpu(const InterpGeometry& g, const float* x, float* y) {
  const int64_t count = g.planes * g.out_h * g.out_w;
  InterpForwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(
      count, g, InterpRatio(g.in_h, g.out_h), InterpRatio(g.in_w, g.out_w), x, y);
  cuda::CheckLaunch("InterpForwardKernel");
}

void InterpBackwardGpu(const InterpGeometry& g, const float* dy, float* dx) {
  const int64_t count = g.planes * g.out_h * g.out_w;
  InterpBackwardKernel<<<cuda::BlocksFor(count), cuda::kThreadsPerBlock>>>(
      count, g, InterpRatio(g.in_h, g.out_h), InterpRatio(g.in_w, g.out_w), dy, dx);
  cuda::CheckLaunch("InterpBackwardKernel");
}

}  // namespace cortado
