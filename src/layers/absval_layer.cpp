// AbsVal: y = |x|.
// The layer body is NeuronLayer's; the formula is AbsValFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct AbsValSpec {
  using Formula = AbsValFormula;
  static constexpr const char* kType = "AbsVal";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = true;

  static Formula Configure(const caffe::LayerParameter&, const std::string&) { return {}; }

  // Backward needs the sign of x, which |x| has lost (Reshape refuses in place).
  static std::string InPlaceBackwardProblem(const Formula&) { return NeuronReadsBottom(); }
};

using AbsValLayer = NeuronLayer<AbsValSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(AbsVal, AbsValLayer)

}  // namespace cortado
