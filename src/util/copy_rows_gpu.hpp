// Copies of equal-length runs between two strided layouts (Concat, Slice,
// SPP): the CUDA kernel, and CopyRowsOn, which picks it or the CPU's
// CopyRows so a layer writes the copy once for both devices.
#ifndef CORTADO_UTIL_COPY_ROWS_GPU_HPP_
#define CORTADO_UTIL_COPY_ROWS_GPU_HPP_

#include <cstdint>

#include "cortado/math.hpp"

namespace cortado {

#ifdef CORTADO_WITH_CUDA

// dst[r * dst_stride + c] = src[r * src_stride + c] for r < rows, c < length
// (device pointers). copy_rows.cu.
void CopyRowsGpu(int64_t rows, int64_t length, const float* src, int64_t src_stride, float* dst,
                 int64_t dst_stride);
#endif  // CORTADO_WITH_CUDA

// CopyRows on the GPU when on_cuda (device pointers), else on the CPU.
// Without CUDA no layer runs on a GPU, so on_cuda is always false there.
inline void CopyRowsOn(bool on_cuda, int64_t rows, int64_t length, const float* src,
                       int64_t src_stride, float* dst, int64_t dst_stride) {
#ifdef CORTADO_WITH_CUDA
  if (on_cuda) {
    CopyRowsGpu(rows, length, src, src_stride, dst, dst_stride);
    return;
  }
#endif
  CopyRows(rows, length, src, src_stride, dst, dst_stride);
}

}  // namespace cortado

#endif  // CORTADO_UTIL_COPY_ROWS_GPU_HPP_
