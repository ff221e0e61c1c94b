// BNLL (binomial normal log likelihood, softplus): y = log(1 + exp(x)).
// The layer body is NeuronLayer's; the formula is BnllFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct BnllSpec {
  using Formula = BnllFormula;
  static constexpr const char* kType = "BNLL";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter&, const std::string&) { return {}; }

  // The gradient, sigmoid(x), reads x.
  static std::string InPlaceBackwardProblem(const Formula&) { return NeuronReadsBottom(); }
};

using BnllLayer = NeuronLayer<BnllSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(BNLL, BnllLayer)

}  // namespace cortado
