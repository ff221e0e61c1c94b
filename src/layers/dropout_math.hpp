// Dropout's element-wise functors, compiled into the CPU loop and the CUDA
// kernel alike (dropout_layer.cpp, dropout_layer.cu).
#ifndef CORTADO_LAYERS_DROPOUT_MATH_HPP_
#define CORTADO_LAYERS_DROPOUT_MATH_HPP_

#include <cstdint>

#include "../util/counter_random.hpp"
#include "cortado/host_device.hpp"

namespace cortado {

// Draws element i's keep bit from the counter stream `key` and applies it.
struct DropoutForwardOp {
  const float* x;
  float* y;
  uint8_t* mask;
  uint64_t key;
  uint64_t keep_threshold;
  float scale;
  CORTADO_HD void operator()(int64_t i) const {
    const bool keep = CounterRandom(key, static_cast<uint64_t>(i)) < keep_threshold;
    mask[i] = keep;
    y[i] = keep ? x[i] * scale : 0.f;
  }
};

// dx = mask ? dy * scale : 0, from the mask the forward pass kept.
struct DropoutBackwardOp {
  const float* dy;
  float* dx;
  const uint8_t* mask;
  float scale;
  CORTADO_HD void operator()(int64_t i) const { dx[i] = mask[i] ? dy[i] * scale : 0.f; }
};

}  // namespace cortado

#endif  // CORTADO_LAYERS_DROPOUT_MATH_HPP_
