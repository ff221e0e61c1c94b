// Sigmoid: y = 1 / (1 + exp(-x)).
// The layer body is NeuronLayer's; the formula is SigmoidFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct SigmoidSpec {
  using Formula = SigmoidFormula;
  static constexpr const char* kType = "Sigmoid";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter&, const std::string&) { return {}; }

  // y * (1 - y) reads only y.
  static std::string InPlaceBackwardProblem(const Formula&) { return ""; }
};

using SigmoidLayer = NeuronLayer<SigmoidSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(Sigmoid, SigmoidLayer)

}  // namespace cortado
