// Threshold: y = 1 where x > threshold, else 0. It has no gradient.
// The layer body is NeuronLayer's; the formula is ThresholdFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct ThresholdSpec {
  using Formula = ThresholdFormula;
  static constexpr const char* kType = "Threshold";
  static constexpr bool kHasBackward = false;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter& param, const std::string&) {
    return {param.threshold_param().threshold()};
  }

  static std::string InPlaceBackwardProblem(const Formula&) { return ""; }
};

using ThresholdLayer = NeuronLayer<ThresholdSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(Threshold, ThresholdLayer)

}  // namespace cortado
