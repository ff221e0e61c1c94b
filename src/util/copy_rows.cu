// The strided run copy shared by Concat and Slice on the device.
#include "copy_rows_gpu.hpp"

#include "cortado/cuda.hpp"

namespace cortado {
namespace {

__global__ void CopyRowsKernel(int64_t n, int64_t length, const float* src, int64_t src_stride,
                               float* dst, int64_t dst_stride) {
  CORTADO_KERNEL_LOOP(i, n) {
    const int64_t r = i / length, c = i % length;
    dst[r * dst_stride + c] = src[r * src_stride + c];
  }
}

}  // namespace

void CopyRowsGpu(int64_t rows, int64_t length, const float* src, int64_t src_stride, float* dst,
                 int64_t dst_stride) {
  const int64_t n = rows * length;
  if (n <= 0) return;
  CopyRowsKernel<<<cuda::BlocksFor(n), cuda::kThreadsPerBlock>>>(n, length, src, src_stride, dst,
                                                                  dst_stride);
  cuda::CheckLaunch("CopyRowsKernel");
}

}  // namespace cortado
