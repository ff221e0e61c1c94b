// The neuron layers' formulas as small structs (parameters + CORTADO_HD
// Value/Gradient), and the element-wise functors that apply them. A formula
// is compiled into the CPU loop and the CUDA kernel alike; Gradient takes
// dy, x and y and reads only what its math needs (in place, x is y).
#ifndef CORTADO_LAYERS_NEURON_FORMULAS_HPP_
#define CORTADO_LAYERS_NEURON_FORMULAS_HPP_

#include <cstdint>

#include "activation_math.hpp"
#include "cortado/host_device.hpp"
#include "relu_math.hpp"

namespace cortado {

struct AbsValFormula {
  CORTADO_HD float Value(float x) const { return AbsValValue(x); }
  CORTADO_HD float Gradient(float dy, float x, float) const { return AbsValGradient(dy, x); }
};

struct BnllFormula {
  CORTADO_HD float Value(float x) const { return BnllValue(x); }
  CORTADO_HD float Gradient(float dy, float x, float) const { return BnllGradient(dy, x); }
};

struct ClipFormula {
  float lo = 0, hi = 0;
  CORTADO_HD float Value(float x) const { return ClipValue(x, lo, hi); }
  CORTADO_HD float Gradient(float dy, float x, float) const { return ClipGradient(dy, x, lo, hi); }
};

struct EluFormula {
  float alpha = 1;
  CORTADO_HD float Value(float x) const { return EluValue(x, alpha); }
  CORTADO_HD float Gradient(float dy, float x, float y) const {
    return EluGradient(dy, x, y, alpha);
  }
};

struct ExpFormula {
  float inner = 1, outer = 1;
  CORTADO_HD float Value(float x) const { return ExpValue(x, inner, outer); }
  CORTADO_HD float Gradient(float dy, float, float y) const { return ExpGradient(dy, y, inner); }
};

struct LogFormula {
  float scale = 1, shift = 0, base_scale = 1;
  CORTADO_HD float Value(float x) const { return LogValue(x, scale, shift, base_scale); }
  CORTADO_HD float Gradient(float dy, float x, float) const {
    return LogGradient(dy, x, scale, shift, scale * base_scale);
  }
};

struct ReluFormula {
  float slope = 0;
  CORTADO_HD float Value(float x) const { return ReluValue(x, slope); }
  // For slope >= 0, y > 0 exactly when x > 0, so y decides the branch and
  // the layer works in place; a negative slope needs x itself.
  CORTADO_HD float Gradient(float dy, float x, float y) const {
    return ReluGradient(dy, slope >= 0.f ? y : x, slope);
  }
};

struct SigmoidFormula {
  CORTADO_HD float Value(float x) const { return SigmoidValue(x); }
  CORTADO_HD float Gradient(float dy, float, float y) const { return SigmoidGradient(dy, y); }
};

struct TanhFormula {
  CORTADO_HD float Value(float x) const { return TanhValue(x); }
  CORTADO_HD float Gradient(float dy, float, float y) const { return TanhGradient(dy, y); }
};

// Threshold has no gradient; Gradient is never called (NeuronLayer refuses
// a backward pass through it).
struct ThresholdFormula {
  float threshold = 0;
  CORTADO_HD float Value(float x) const { return ThresholdValue(x, threshold); }
  CORTADO_HD float Gradient(float, float, float) const { return 0.f; }
};

// y[i] = f(x[i]).
template <typename Formula>
struct NeuronForwardOp {
  const float* x;
  float* y;
  Formula formula;
  CORTADO_HD void operator()(int64_t i) const { y[i] = formula.Value(x[i]); }
};

// dx[i] = f'(x[i], y[i]) * dy[i].
template <typename Formula>
struct NeuronBackwardOp {
  const float* dy;
  const float* x;
  const float* y;
  float* dx;
  Formula formula;
  CORTADO_HD void operator()(int64_t i) const { dx[i] = formula.Gradient(dy[i], x[i], y[i]); }
};

}  // namespace cortado

#endif  // CORTADO_LAYERS_NEURON_FORMULAS_HPP_
