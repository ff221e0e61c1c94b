// TanH: y = tanh(x).
// The layer body is NeuronLayer's; the formula is TanhFormula (neuron_formulas.hpp).
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct TanhSpec {
  using Formula = TanhFormula;
  static constexpr const char* kType = "TanH";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter&, const std::string&) { return {}; }

  // 1 - y^2 reads only y.
  static std::string InPlaceBackwardProblem(const Formula&) { return ""; }
};

using TanhLayer = NeuronLayer<TanhSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(TanH, TanhLayer)

}  // namespace cortado
