// Upsample's index maps, shared by the CPU loops and the CUDA kernels.
#ifndef CORTADO_LAYERS_UPSAMPLE_MATH_HPP_
#define CORTADO_LAYERS_UPSAMPLE_MATH_HPP_

#include <cstdint>

#include "cortado/host_device.hpp"

namespace cortado {

// Blobs are planes x (in_h x in_w) in and planes x (out_h x out_w) out.
struct UpsampleGeometry {
  int64_t planes;
  int in_h, in_w, out_h, out_w, scale_h, scale_w;
};

// Nearest neighbour along one axis: the input position output position o
// repeats; clamped so an explicit upsample_h/w larger than scale * size
// stays in range.
CORTADO_HD inline int UpsampleNearestSource(int o, int scale, int in_size) {
  const int source = o / scale;
  return source < in_size - 1 ? source : in_size - 1;
}

// The inverse: input position i is repeated by outputs [first, end); the
// last input position also takes the clamped tail. Empty when an explicit
// output size cuts i off.
CORTADO_HD inline int UpsampleFirstOutput(int i, int scale) { return i * scale; }
CORTADO_HD inline int UpsampleEndOutput(int i, int scale, int in_size, int out_size) {
  const int end = (i + 1) * scale;
  return i == in_size - 1 || end > out_size ? out_size : end;
}

// Nearest-neighbour backward at input (sh, sw) of one plane: the sum of dy
// over the outputs that repeat it, rows then columns (the order a scatter
// over the outputs would add them in).
CORTADO_HD inline float UpsampleNearestGradient(const float* dy_plane, int sh, int sw,
                                                const UpsampleGeometry& g) {
  const int h_end = UpsampleEndOutput(sh, g.scale_h, g.in_h, g.out_h);
  const int w_end = UpsampleEndOutput(sw, g.scale_w, g.in_w, g.out_w);
  float sum = 0;
  for (int h = UpsampleFirstOutput(sh, g.scale_h); h < h_end; ++h) {
    for (int w = UpsampleFirstOutput(sw, g.scale_w); w < w_end; ++w) {
      sum += dy_plane[static_cast<int64_t>(h) * g.out_w + w];
    }
  }
  return sum;
}

// Unpooling: whether a mask value names a position in an out_plane-sized plane.
CORTADO_HD inline bool UpsampleMaskValid(float value, int64_t out_plane) {
  return value >= 0 && static_cast<int64_t>(value) < out_plane;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_UPSAMPLE_MATH_HPP_
