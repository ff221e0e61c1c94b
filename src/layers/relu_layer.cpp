// ReLU: y = max(x, 0) + negative_slope * min(x, 0).
// The layer body is NeuronLayer's; the formula is ReluFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct ReluSpec {
  using Formula = ReluFormula;
  static constexpr const char* kType = "ReLU";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter& param, const std::string&) {
    return {param.relu_param().negative_slope()};
  }

  // A negative slope maps x < 0 to y > 0, so y no longer tells x's sign.
  static std::string InPlaceBackwardProblem(const Formula& formula) {
    if (formula.slope >= 0) return "";
    return StrCat("cannot back-propagate in place with negative_slope ", formula.slope,
                  " < 0; give the layer its own top");
  }
};

using ReluLayer = NeuronLayer<ReluSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(ReLU, ReluLayer)

}  // namespace cortado
