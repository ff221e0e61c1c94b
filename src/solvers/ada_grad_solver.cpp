// AdaGrad: h += g^2; step = lr * g / (sqrt(h) + delta).
#include <cmath>

#include "sgd_solver.hpp"

namespace cortado {
namespace {

class AdaGradSolver : public SgdSolver {
 public:
  explicit AdaGradSolver(const caffe::SolverParameter& param) : SgdSolver(param) {
    // The accumulated history already plays momentum's part.
    if (param_.momentum() != 0) {
      ThrowError("solver: momentum cannot be used with AdaGrad (got momentum: ",
                 param_.momentum(), ")");
    }
  }
  const char* type() const override { return "AdaGrad"; }

 protected:
  void ComputeUpdateValue(int param_id, float rate) override {
    ApplyRule(param_id, AdaGradRule{local_rate(param_id, rate), param_.delta()});
  }

};

}  // namespace

std::unique_ptr<Solver> NewAdaGradSolver(const caffe::SolverParameter& param) {
  return std::make_unique<AdaGradSolver>(param);
}

}  // namespace cortado
