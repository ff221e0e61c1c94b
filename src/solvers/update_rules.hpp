// The per-element update rules of the solvers, written once for the CPU
// loop and the CUDA kernel. Each rule turns the regularised gradient g into
// the step Net::Update subtracts, updating its history h0 (and h1 for the
// two-history rules; single-history rules never touch it).
#ifndef CORTADO_SRC_SOLVERS_UPDATE_RULES_HPP_
#define CORTADO_SRC_SOLVERS_UPDATE_RULES_HPP_

#include <cmath>
#include <cstdint>

#include "cortado/host_device.hpp"

namespace cortado {

// v = m*v + lr*g; step = v.
struct SgdRule {
  float momentum, lr;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    h0 = momentum * h0 + lr * g;
    g = h0;
  }
};

// Caffe's Nesterov: v' = m*v + lr*g; step = (1+m)*v' - m*v.
struct NesterovRule {
  float momentum, lr;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    const float previous = h0;
    h0 = momentum * h0 + lr * g;
    g = (1 + momentum) * h0 - momentum * previous;
  }
};

// h += g^2; step = lr * g / (sqrt(h) + delta).
struct AdaGradRule {
  float lr, delta;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    h0 += g * g;
    g = lr * (g / (sqrtf(h0) + delta));
  }
};

// h = d*h + (1-d)*g^2; step = lr * g / (sqrt(h) + delta).
struct RmsPropRule {
  float decay, lr, delta;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    h0 = decay * h0 + (1 - decay) * g * g;
    g = lr * (g / (sqrtf(h0) + delta));
  }
};

// a = d*a + (1-d)*g^2; u = g*sqrt((b+delta)/(a+delta)); b = d*b + (1-d)*u^2;
// step = lr*u. a is h0, b is h1.
struct AdaDeltaRule {
  float decay, lr, delta;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    h0 = decay * h0 + (1 - decay) * g * g;
    const float u = g * sqrtf((h1 + delta) / (h0 + delta));
    h1 = decay * h1 + (1 - decay) * u * u;
    g = lr * u;
  }
};

// m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; step = s * m / (sqrt(v) + delta),
// s the bias-corrected rate. m is h0, v is h1.
struct AdamRule {
  float beta1, beta2, step, delta;
  CORTADO_HD void operator()(float& g, float& h0, float& h1) const {
    h0 = beta1 * h0 + (1 - beta1) * g;
    h1 = beta2 * h1 + (1 - beta2) * g * g;
    g = step * (h0 / (sqrtf(h1) + delta));
  }
};

// L1 weight decay: diff += decay * sign(data).
CORTADO_HD inline float L1Decay(float data, float decay) {
  return decay * float((0.f < data) - (data < 0.f));
}

#ifdef CORTADO_WITH_CUDA
// update_rules.cu: one kernel per rule over device arrays.
void ApplyRuleGpu(int64_t n, const SgdRule& rule, float* g, float* h0, float* h1);
void ApplyRuleGpu(int64_t n, const NesterovRule& rule, float* g, float* h0, float* h1);
void ApplyRuleGpu(int64_t n, const AdaGradRule& rule, float* g, float* h0, float* h1);
void ApplyRuleGpu(int64_t n, const RmsPropRule& rule, float* g, float* h0, float* h1);
void ApplyRuleGpu(int64_t n, const AdaDeltaRule& rule, float* g, float* h0, float* h1);
void ApplyRuleGpu(int64_t n, const AdamRule& rule, float* g, float* h0, float* h1);
void RegularizeL1Gpu(int64_t n, float decay, const float* data, float* diff);
#endif

}  // namespace cortado

#endif  // CORTADO_SRC_SOLVERS_UPDATE_RULES_HPP_
