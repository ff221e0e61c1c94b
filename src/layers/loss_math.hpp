// Per-element formulas of the loss layers (SigmoidCrossEntropyLoss,
// HingeLoss, ContrastiveLoss, InfogainLoss, MultinomialLogisticLoss),
// shared by each layer's CPU loop and its CUDA kernels.
#ifndef CORTADO_LAYERS_LOSS_MATH_HPP_
#define CORTADO_LAYERS_LOSS_MATH_HPP_

#include <cmath>

#include "activation_math.hpp"
#include "cortado/host_device.hpp"

namespace cortado {

// loss_param.ignore_label compares with the label's integer value.
CORTADO_HD inline bool IsIgnoredLabel(float label, bool has_ignore_label, int ignore_label) {
  return has_ignore_label && static_cast<int>(label) == ignore_label;
}

// Probabilities are clamped here so that log() and 1/p stay finite (written
// as std::max(p, kMin) is, so NaN passes).
CORTADO_HD inline float ClampProbability(float p) {
  constexpr float kMinProbability = 1e-20f;
  return p < kMinProbability ? kMinProbability : p;
}
CORTADO_HD inline float ClampedLog(float p) { return std::log(ClampProbability(p)); }

// -[t log s + (1 - t) log(1 - s)] with s = sigmoid(x) equals
// max(x, 0) - x t + log(1 + exp(-|x|)), which never overflows.
CORTADO_HD inline float SigmoidCrossEntropy(float x, float t) {
  const float positive = x >= 0 ? x : 0.f;
  return positive - x * t + std::log1p(std::exp(-std::fabs(x)));
}
// d/dx, before normalisation.
CORTADO_HD inline float SigmoidCrossEntropyGradient(float x, float t) {
  return SigmoidValue(x) - t;
}

// One-vs-all hinge margin: max(0, 1 + s) for other classes, max(0, 1 - s)
// for the true one.
CORTADO_HD inline float HingeMargin(float score, bool is_truth) {
  const float margin = 1.f + (is_truth ? -score : score);
  return 0.f < margin ? margin : 0.f;
}
// d margin-term / d score, before the 1/N scale: +1 (-1 for the true class)
// where the margin is active; L2 doubles the margin.
CORTADO_HD inline float HingeGradient(float margin, bool is_truth, bool squared) {
  const float g = squared ? 2.f * margin : (margin > 0 ? 1.f : 0.f);
  return is_truth ? -g : g;
}

CORTADO_HD inline bool IsSimilarPair(float label) { return static_cast<int>(label) != 0; }

// One pair's loss before the 1/(2N): d^2 if similar, else
// max(margin - d, 0)^2 (legacy: max(margin - d^2, 0)). Double, as the CPU
// sums it.
CORTADO_HD inline double ContrastivePairLoss(bool similar, float distance_sq, float margin,
                                             bool legacy) {
  if (similar) return distance_sq;
  if (legacy) {
    const float gap = margin - distance_sq;
    return gap < 0.f ? 0.f : gap;
  }
  const float root_gap = margin - std::sqrt(distance_sq);
  const float gap = root_gap < 0.f ? 0.f : root_gap;
  return double(gap) * gap;
}

// A pair's gradient is this multiple of its difference vector a - b; alpha
// is +-(top diff) / N.
CORTADO_HD inline float ContrastiveFactor(bool similar, float distance_sq, float margin,
                                          bool legacy, float alpha) {
  // Keeps the gradient finite when a dissimilar pair coincides (d = 0).
  constexpr float kDistanceEpsilon = 1e-4f;
  if (similar) return alpha;
  if (legacy) return margin - distance_sq > 0 ? -alpha : 0.f;
  const float distance = std::sqrt(distance_sq);
  const float gap = margin - distance;
  return gap > 0 ? -alpha * gap / (distance + kDistanceEpsilon) : 0.f;
}

}  // namespace cortado

#endif  // CORTADO_LAYERS_LOSS_MATH_HPP_
