// Device copies of equal-length runs between two strided layouts: the one
// kernel behind Concat and Slice, whose CPU paths loop over the same runs.
#ifndef CORTADO_LAYERS_COPY_ROWS_GPU_HPP_
#define CORTADO_LAYERS_COPY_ROWS_GPU_HPP_

#ifdef CORTADO_WITH_CUDA

#include <cstdint>

namespace cortado {

// dst[r * dst_stride + c] = src[r * src_stride + c] for r < rows, c < length
// (device pointers). copy_rows.cu.
void CopyRowsGpu(int64_t rows, int64_t length, const float* src, int64_t src_stride, float* dst,
                 int64_t dst_stride);

}  // namespace cortado

#endif  // CORTADO_WITH_CUDA

#endif  // CORTADO_LAYERS_COPY_ROWS_GPU_HPP_
