// AdaDelta (Zeiler 2012), with `momentum` as the decay d:
//   a = d*a + (1-d)*g^2;  u = g * sqrt((b + delta) / (a + delta));
//   b = d*b + (1-d)*u^2;  step = lr * u.
// a is history set 0 and b set 1, the order BVLC Caffe snapshots them in.
#include <cmath>

#include "sgd_solver.hpp"

namespace cortado {
namespace {

class AdaDeltaSolver : public SgdSolver {
 public:
  explicit AdaDeltaSolver(const caffe::SolverParameter& param) : SgdSolver(param) {
    AddHistorySet();
  }
  const char* type() const override { return "AdaDelta"; }

 protected:
  void ComputeUpdateValue(int param_id, float rate) override {
    ApplyRule(param_id, AdaDeltaRule{param_.momentum(), local_rate(param_id, rate),
                                     param_.delta()});
  }

};

}  // namespace

std::unique_ptr<Solver> NewAdaDeltaSolver(const caffe::SolverParameter& param) {
  return std::make_unique<AdaDeltaSolver>(param);
}

}  // namespace cortado
