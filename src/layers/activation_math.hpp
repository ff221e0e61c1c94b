// Element-wise formulas of the one-input activation and math layers
// (Sigmoid, TanH, AbsVal, BNLL, ELU, Exp, Log, Power, Clip, Swish,
// Threshold, PReLU), shared by each layer's CPU loop and its CUDA kernel.
// Gradients take dy first, then what the formula reads (x or y).
#ifndef CORTADO_LAYERS_ACTIVATION_MATH_HPP_
#define CORTADO_LAYERS_ACTIVATION_MATH_HPP_

#include <cmath>
#include <cstdint>

#include "cortado/host_device.hpp"

namespace cortado {

// Sigmoid in its tanh form, which never overflows, unlike exp(-x) for very
// negative x. Also the inner sigmoid of Swish.
CORTADO_HD inline float SigmoidValue(float x) { return 0.5f * std::tanh(0.5f * x) + 0.5f; }
// Reads only y, so the layer works in place.
CORTADO_HD inline float SigmoidGradient(float dy, float y) { return dy * y * (1.f - y); }

CORTADO_HD inline float TanhValue(float x) { return std::tanh(x); }
CORTADO_HD inline float TanhGradient(float dy, float y) { return dy * (1.f - y * y); }

CORTADO_HD inline float AbsValValue(float x) { return std::fabs(x); }
// sign(0) = 0, so the gradient at the kink is zero.
CORTADO_HD inline float AbsValGradient(float dy, float x) {
  return x > 0 ? dy : (x < 0 ? -dy : 0.f);
}

// Softplus; for x > 0 the form x + log(1 + exp(-x)) keeps exp() from overflowing.
CORTADO_HD inline float BnllValue(float x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}
// dy/dx = sigmoid(x); exp() of inputs above the clamp only rounds it to 1
// (and may overflow). The clamp is written as std::min(x, clamp) is, so NaN
// stays NaN.
CORTADO_HD inline float BnllGradient(float dy, float x) {
  constexpr float kExpClamp = 50.f;
  const float e = std::exp(kExpClamp < x ? kExpClamp : x);
  return dy * e / (e + 1.f);
}

CORTADO_HD inline float EluValue(float x, float alpha) {
  return x > 0 ? x : alpha * (std::exp(x) - 1.f);
}
// dy/dx = alpha * exp(x) = y + alpha on the negative side, so only y is read
// there. In place, x is y; y > 0 exactly when x > 0 for alpha >= 0.
CORTADO_HD inline float EluGradient(float dy, float x, float y, float alpha) {
  return x > 0 ? dy : dy * (y + alpha);
}

// Exp as y = outer * exp(inner * x) (base, scale and shift folded in at set-up).
CORTADO_HD inline float ExpValue(float x, float inner, float outer) {
  return outer * std::exp(inner * x);
}
// dy/dx = inner * y: reads only y, so the layer works in place.
CORTADO_HD inline float ExpGradient(float dy, float y, float inner) { return dy * y * inner; }

// Log as y = ln(shift + scale * x) * base_scale, base_scale = 1 / ln(base).
CORTADO_HD inline float LogValue(float x, float scale, float shift, float base_scale) {
  return std::log(shift + scale * x) * base_scale;
}
// numerator = scale * base_scale.
CORTADO_HD inline float LogGradient(float dy, float x, float scale, float shift,
                                    float numerator) {
  return dy * numerator / (shift + scale * x);
}

// Power: y = (shift + scale * x) ^ power. Powers 1 and 2 are common and
// much cheaper than pow(), so the loops are specialised on the form; the
// form is chosen once per pass, outside the loop.
enum class PowerForm { kLinear, kSquare, kGeneral };

inline PowerForm PowerFormOf(float power) {
  return power == 1 ? PowerForm::kLinear : power == 2 ? PowerForm::kSquare : PowerForm::kGeneral;
}

template <PowerForm kForm>
CORTADO_HD inline float PowerValue(float x, float power, float scale, float shift) {
  const float u = shift + scale * x;
  if constexpr (kForm == PowerForm::kLinear) {
    return u;
  } else if constexpr (kForm == PowerForm::kSquare) {
    return u * u;
  } else {
    return std::pow(u, power);
  }
}

// diff_scale = power * scale. kLinear also serves a constant y (power or
// scale 0, diff_scale 0): the gradient then does not read x at all.
template <PowerForm kForm>
CORTADO_HD inline float PowerGradient(float dy, float x, float power, float scale, float shift,
                                      float diff_scale) {
  if constexpr (kForm == PowerForm::kLinear) {
    return diff_scale * dy;
  } else if constexpr (kForm == PowerForm::kSquare) {
    return diff_scale * (shift + scale * x) * dy;
  } else {
    return diff_scale * std::pow(shift + scale * x, power - 1.f) * dy;
  }
}

// Power's element-wise functors for the CPU loop and the CUDA kernel, one per
// form (power_layer.cpp picks the form, power_layer.cu instantiates them).
template <PowerForm kForm>
struct PowerForwardOp {
  const float* x;
  float* y;
  float power, scale, shift;
  CORTADO_HD void operator()(int64_t i) const {
    y[i] = PowerValue<kForm>(x[i], power, scale, shift);
  }
};

template <PowerForm kForm>
struct PowerBackwardOp {
  const float* dy;
  const float* x;
  float* dx;
  float power, scale, shift, diff_scale;
  CORTADO_HD void operator()(int64_t i) const {
    dx[i] = PowerGradient<kForm>(dy[i], x[i], power, scale, shift, diff_scale);
  }
};

// min(max(x, lo), hi) with std::max/std::min's exact semantics (NaN passes).
CORTADO_HD inline float ClipValue(float x, float lo, float hi) {
  const float upper = hi < x ? hi : x;
  return lo < upper ? upper : lo;
}
// The gradient passes where x lies in [lo, hi], bounds included.
CORTADO_HD inline float ClipGradient(float dy, float x, float lo, float hi) {
  return (x >= lo && x <= hi) ? dy : 0.f;
}

// Swish: y = x * s with s = sigmoid(beta * x), kept for the backward pass.
CORTADO_HD inline float SwishSigmoid(float x, float half_beta) {
  return 0.5f * std::tanh(half_beta * x) + 0.5f;
}
// dy/dx = s + beta * x * s * (1 - s) = beta * y + s * (1 - beta * y), which
// reads only y and s, so the layer works in place.
CORTADO_HD inline float SwishGradient(float dy, float y, float s, float beta) {
  const float by = beta * y;
  return dy * (by + s * (1.f - by));
}

CORTADO_HD inline float ThresholdValue(float x, float threshold) {
  return x > threshold ? 1.f : 0.f;
}

// Swish's functors: forward keeps s = sigmoid(beta * x) for backward.
struct SwishForwardOp {
  const float* x;
  float* y;
  float* s;
  float half_beta;
  CORTADO_HD void operator()(int64_t i) const {
    const float si = SwishSigmoid(x[i], half_beta);
    s[i] = si;
    y[i] = x[i] * si;
  }
};

struct SwishBackwardOp {
  const float* dy;
  const float* y;
  const float* s;
  float* dx;
  float beta;
  CORTADO_HD void operator()(int64_t i) const { dx[i] = SwishGradient(dy[i], y[i], s[i], beta); }
};

// PReLU with slope a for x's channel.
CORTADO_HD inline float PreluValue(float x, float a) { return x > 0 ? x : a * x; }
CORTADO_HD inline float PreluGradient(float dy, float x, float a) { return x > 0 ? dy : a * dy; }
// One element's share of d loss / d a.
CORTADO_HD inline float PreluSlopeGradient(float dy, float x) { return x > 0 ? 0.f : dy * x; }

}  // namespace cortado

#endif  // CORTADO_LAYERS_ACTIVATION_MATH_HPP_
