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

  // out[j] = relu(in[j] + bias + add[j]) over one row of n values (add may
  // be null; in may be out), in one pass: a row of a 112x112 plane is larger
  // than L1, and a second pass for the ReLU read it back from L2 (MobileNet
  // v2's expand layers). A loop per combination of options, so that the
  // compiler vectorises each: a per-element branch on them would not be.
  void ApplyRow(const float* in, float bias, const float* add, int64_t n, float* out) const {
    if (add) {
      if (relu) {
        Map(n, out, [=](int64_t j) { return Relu(in[j] + bias + add[j]); });
      } else {
        Map(n, out, [=](int64_t j) { return in[j] + bias + add[j]; });
      }
    } else if (relu) {
      Map(n, out, [=](int64_t j) { return Relu(in[j] + bias); });
    } else {
      Map(n, out, [=](int64_t j) { return in[j] + bias; });
    }
  }

 private:
  template <typename Value>
  static void Map(int64_t n, float* out, Value value) {
    for (int64_t j = 0; j < n; ++j) out[j] = value(j);
  }
  // The ReLU layer's formula (ReluValue, src/layers/relu_math.hpp), so a
  // fused ReLU gives its exact values. Both terms are computed for every
  // element: GCC keeps `x < 0 ? x * slope : x` a branch (the multiply may
  // not be speculated under -ftrapping-math), and a branch on a sign that
  // is random costs a misprediction every other element; MobileNet v2's
  // forward took 21 ms on Gaussian input against 14 on zeros.
  float Relu(float x) const {
    return (x > 0.f ? x : 0.f) + negative_slope * (x < 0.f ? x : 0.f);
  }
};

}  // namespace cortado

#endif  // CORTADO_EPILOGUE_HPP_
