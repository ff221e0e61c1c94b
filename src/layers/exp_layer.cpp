// Exp: y = base ^ (shift + scale * x), base e when base is -1.
// The layer body is NeuronLayer's; the formula is ExpFormula (neuron_formulas.hpp).
#include <cmath>
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct ExpSpec {
  using Formula = ExpFormula;
  static constexpr const char* kType = "Exp";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  // Rewritten as y = outer * exp(inner * x), so the loop is a single exp.
  static Formula Configure(const caffe::LayerParameter& param, const std::string& error_prefix) {
    const caffe::ExpParameter& p = param.exp_param();
    const float base = p.base();
    if (base != -1 && !(base > 0)) {
      ThrowError(error_prefix, "exp_param.base ", base, " must be positive, or -1 for base e");
    }
    const float log_base = base == -1 ? 1.f : std::log(base);
    const float outer = p.shift() == 0 ? 1.f
                        : base == -1   ? std::exp(p.shift())
                                       : std::pow(base, p.shift());
    return {log_base * p.scale(), outer};
  }

  // dy/dx = inner * y reads only y.
  static std::string InPlaceBackwardProblem(const Formula&) { return ""; }
};

using ExpLayer = NeuronLayer<ExpSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(Exp, ExpLayer)

}  // namespace cortado
