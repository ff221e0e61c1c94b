// Epilogue: work a layer that produces per-channel outputs (Convolution,
// InnerProduct) does on its output while it is still in cache, standing in
// for the layers the inference fusion pass folded into it.
#ifndef CORTADO_EPILOGUE_HPP_
#define CORTADO_EPILOGUE_HPP_

#include "cortado/blob.hpp"

namespace cortado {

// Applied in this order: the product with `weights` (or the layer's own),
// plus `bias` (or the layer's own), plus `addend`, then ReLU. The order is
// the one ResNet's conv -> BatchNorm -> Scale -> Eltwise SUM -> ReLU needs.
struct Epilogue {
  // Weights and bias with BatchNorm/Scale folded in, owned by the fusion
  // pass; null means the layer's own blobs. When weights are given, bias is
  // given too (a folded shift exists even where the layer had no bias).
  const Blob* weights = nullptr;
  const Blob* bias = nullptr;
  // Added element-wise; the same shape as the output, never the output itself.
  const Blob* addend = nullptr;
  bool relu = false;
  float negative_slope = 0.f;

  // The value of one output element given its pre-epilogue value and the
  // addend's element (0 without one).
  float Apply(float value, float add) const {
    value += add;
    if (relu && value < 0) value *= negative_slope;
    return value;
  }
};

}  // namespace cortado

#endif  // CORTADO_EPILOGUE_HPP_
