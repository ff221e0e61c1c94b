// Clip: y = min(max(x, min), max).
// The layer body is NeuronLayer's; the formula is ClipFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct ClipSpec {
  using Formula = ClipFormula;
  static constexpr const char* kType = "Clip";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter& param, const std::string& error_prefix) {
    if (!param.has_clip_param()) {
      ThrowError(error_prefix, "needs clip_param { min: ... max: ... }");
    }
    const float lo = param.clip_param().min(), hi = param.clip_param().max();
    if (lo > hi) {
      ThrowError(error_prefix, "clip_param.min ", lo, " is greater than clip_param.max ", hi);
    }
    return {lo, hi};
  }

  // Whether x lay inside [min, max] is lost once clipped values overwrite it.
  static std::string InPlaceBackwardProblem(const Formula&) { return NeuronReadsBottom(); }
};

using ClipLayer = NeuronLayer<ClipSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(Clip, ClipLayer)

}  // namespace cortado
