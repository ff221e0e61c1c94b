// Adam (Kingma & Ba), bias-corrected through the step size as BVLC Caffe does:
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;  t = iter + 1;
//   step = lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + delta),
// with b1 = momentum and b2 = momentum2. m is history set 0, v set 1.
#include <cmath>

#include "sgd_solver.hpp"

namespace cortado {
namespace {

class AdamSolver : public SgdSolver {
 public:
  explicit AdamSolver(const caffe::SolverParameter& param) : SgdSolver(param) {
    AddHistorySet();
  }
  const char* type() const override { return "Adam"; }

 protected:
  void ComputeUpdateValue(int param_id, float rate) override {
    const float b1 = param_.momentum();
    const float b2 = param_.momentum2();
    const int t = iter_ + 1;
    const float correction = std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    ApplyRule(param_id, AdamRule{b1, b2, local_rate(param_id, rate) * correction,
                                 param_.delta()});
  }

};

}  // namespace

std::unique_ptr<Solver> NewAdamSolver(const caffe::SolverParameter& param) {
  return std::make_unique<AdamSolver>(param);
}

}  // namespace cortado
