// Log: y = log_base(shift + scale * x), the natural log when base is -1.
// The layer body is NeuronLayer's; the formula is LogFormula (neuron_formulas.hpp).
#include <cmath>
#include <string>

#include "cortado/layer_registry.hpp"
#include "neuron_layer.hpp"

namespace cortado {
namespace {

struct LogSpec {
  using Formula = LogFormula;
  static constexpr const char* kType = "Log";
  static constexpr bool kHasBackward = true;
  static constexpr bool kRefusesInPlace = false;

  static Formula Configure(const caffe::LayerParameter& param, const std::string& error_prefix) {
    const caffe::LogParameter& p = param.log_param();
    const float base = p.base();
    if (base != -1 && !(base > 0)) {
      ThrowError(error_prefix, "log_param.base ", base, " must be positive, or -1 for base e");
    }
    // log_b(u) = ln(u) / ln(b).
    const float base_scale = base == -1 ? 1.f : 1.f / std::log(base);
    return {p.scale(), p.shift(), base_scale};
  }

  // dy/dx = scale / (ln(base) * (shift + scale * x)) reads x; inference in place is fine.
  static std::string InPlaceBackwardProblem(const Formula&) { return NeuronReadsBottom(); }
};

using LogLayer = NeuronLayer<LogSpec>;

}  // namespace

CORTADO_REGISTER_LAYER(Log, LogLayer)

}  // namespace cortado
