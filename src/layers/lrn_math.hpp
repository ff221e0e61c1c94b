// LRN's within-channel window, shared by the CPU loops and the CUDA kernels.
#ifndef CORTADO_LAYERS_LRN_MATH_HPP_
#define CORTADO_LAYERS_LRN_MATH_HPP_

#include "cortado/host_device.hpp"

namespace cortado {

// The window of spatial position p along an axis of length `size`:
// [p - pre_pad, p - pre_pad + local_size) clipped to the input in [lo, hi);
// returns the length it would have if clipped only to the padded input.
CORTADO_HD inline int LrnSpatialWindow(int p, int size, int pre_pad, int local_size, int* lo,
                                       int* hi) {
  const int start = p - pre_pad;
  const int padded_end = size + pre_pad;
  const int end = start + local_size < padded_end ? start + local_size : padded_end;
  *lo = start > 0 ? start : 0;
  *hi = end < size ? end : size;
  return end - start;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_LRN_MATH_HPP_
