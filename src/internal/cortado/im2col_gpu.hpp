// im2col/col2im over device pointers: the GPU twins of cortado/im2col.hpp,
// with the same matrix layout and accumulation contract. Defined only in
// CUDA builds; call them from code guarded by CORTADO_WITH_CUDA.
#ifndef CORTADO_IM2COL_GPU_HPP_
#define CORTADO_IM2COL_GPU_HPP_

#include <cstdint>

#include "cortado/im2col.hpp"

namespace cortado {
namespace gpu {

// Writes the (channels*kernel_h*kernel_w) x (output_h*output_w) column
// matrix of one image, rows `row_stride` floats apart.
void Im2col(const float* image, const ConvGeometry& g, int64_t row_stride, float* columns);
// Adds the columns back into `image` (which the caller zeroes or fills).
void Col2im(const float* columns, const ConvGeometry& g, int64_t row_stride, float* image);

// The N-d forms, for up to kMaxSpatialAxes spatial axes (more throws Error).
constexpr int kMaxSpatialAxes = 6;
void Im2colNd(const float* image, const ConvGeometryNd& g, int64_t row_stride, float* columns);
void Col2imNd(const float* columns, const ConvGeometryNd& g, int64_t row_stride, float* image);

}  // namespace gpu
}  // namespace cortado

#endif  // CORTADO_IM2COL_GPU_HPP_
