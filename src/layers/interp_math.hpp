// Interp's bilinear taps, shared by the CPU loops and the CUDA kernels.
#ifndef CORTADO_LAYERS_INTERP_MATH_HPP_
#define CORTADO_LAYERS_INTERP_MATH_HPP_

#include "cortado/host_device.hpp"

namespace cortado {

// The two input positions one output position blends, and their weights.
struct InterpTap {
  int i0, i1;
  float w0, w1;
};

// Aligned corners: output o samples input o * (in - 1) / (out - 1).
CORTADO_HD inline float InterpRatio(int in_size, int out_size) {
  return out_size > 1 ? static_cast<float>(in_size - 1) / (out_size - 1) : 0.f;
}

// Output position o's tap; offset shifts it past a cropped border.
CORTADO_HD inline InterpTap InterpTapAt(int o, float ratio, int in_size, int offset) {
  const float pos = ratio * o;
  const int truncated = static_cast<int>(pos);
  const int i0 = truncated < in_size - 1 ? truncated : in_size - 1;
  const int step = i0 < in_size - 1 ? 1 : 0;
  const float frac = pos - i0;
  return {offset + i0, offset + i0 + step, 1.f - frac, frac};
}

// One output value from its row and column taps; xp is the input plane.
CORTADO_HD inline float InterpBlend(const float* xp, int width, const InterpTap& r,
                                    const InterpTap& c) {
  return r.w0 * (c.w0 * xp[r.i0 * width + c.i0] + c.w1 * xp[r.i0 * width + c.i1]) +
         r.w1 * (c.w0 * xp[r.i1 * width + c.i0] + c.w1 * xp[r.i1 * width + c.i1]);
}

// For the CUDA launchers: x is planes x height x width (the uncropped
// input), y is planes x out_h x out_w.
struct InterpGeometry {
  int64_t planes;
  int height, width;  // of x
  int in_h, in_w;     // the cropped region that is resized
  int out_h, out_w;
  int offset;         // -pad_beg: where the region starts
};

}  // namespace cortado

#endif  // CORTADO_LAYERS_INTERP_MATH_HPP_
