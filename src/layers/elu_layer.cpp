// ELU: y = x for x > 0, alpha * (exp(x) - 1) otherwise.
// The layer body is NeuronLayer's; the formula is EluFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct EluSpec {
  using Formula = EluFormula;
  static constexpr const char* kType = "ELU";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter& param, const std::string&) {
    return {param.elu_param().alpha()};
  }

  // In place, the gradient's x is y, which has x's sign only for alpha >= 0.
  static std::string InPlaceBackwardProblem(const Formula& formula) {
    if (formula.alpha >= 0) return "";
    return StrCat("cannot back-propagate in place with elu_param.alpha ", formula.alpha,
                  " < 0; give the layer its own top");
  }
};

using EluLayer = NeuronLayer<EluSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(ELU, EluLayer)

}  // namespace cortado
