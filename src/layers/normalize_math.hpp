// Normalize's per-element formulas, shared by the CPU loops and the CUDA
// kernels. With y = a x / r and r = sqrt(sum x^2 + eps) over a group (a
// sample, or one position's channel vector):
//   dx = a dy / r - x (sum_group a dy x) / r^3,  da = sum dy x / r.
#ifndef CORTADO_LAYERS_NORMALIZE_MATH_HPP_
#define CORTADO_LAYERS_NORMALIZE_MATH_HPP_

#include <cmath>

#include "cortado/host_device.hpp"

namespace cortado {

// r from a group's sum of squares.
CORTADO_HD inline float NormalizeNorm(double sum_squares, float eps) {
  return static_cast<float>(std::sqrt(sum_squares + eps));
}

CORTADO_HD inline float NormalizeValue(float a, float x, float norm) { return a * x / norm; }

// One element's share of the group's sum a dy x.
CORTADO_HD inline double NormalizeDotTerm(float a, float dy, float x) {
  return double(a) * dy * x;
}

// dx for one element, given its group's r and sum a dy x.
CORTADO_HD inline float NormalizeGradient(float a, float dy, float x, double r, double dot) {
  return static_cast<float>(a * dy / r - x * dot / (r * r * r));
}

// One element's share of its scale's gradient.
CORTADO_HD inline double NormalizeScaleTerm(float dy, float x, float norm) {
  return double(dy) * x / norm;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_NORMALIZE_MATH_HPP_
