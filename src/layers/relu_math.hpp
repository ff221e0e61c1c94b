// ReLU's element-wise formulas, shared by the CPU loop and the CUDA kernel.
#ifndef CORTADO_LAYERS_RELU_MATH_HPP_
#define CORTADO_LAYERS_RELU_MATH_HPP_

#include "cortado/host_device.hpp"

namespace cortado {

// Branch-free so the CPU loop vectorises: signs are random, branches mispredict.
CORTADO_HD inline float ReluValue(float x, float slope) {
  return (x > 0.f ? x : 0.f) + slope * (x < 0.f ? x : 0.f);
}

// d/dx, decided by `sign_source` (x itself, or y when that has x's sign).
CORTADO_HD inline float ReluGradient(float dy, float sign_source, float slope) {
  return dy * (float(sign_source > 0.f) + slope * float(sign_source <= 0.f));
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_RELU_MATH_HPP_
