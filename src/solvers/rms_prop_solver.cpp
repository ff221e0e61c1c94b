// RMSProp: h = d*h + (1-d)*g^2; step = lr * g / (sqrt(h) + delta), d = rms_decay.
#include <cmath>

#include "sgd_solver.hpp"

namespace cortado {
namespace {

class RmsPropSolver : public SgdSolver {
 public:
  explicit RmsPropSolver(const caffe::SolverParameter& param) : SgdSolver(param) {
    if (param_.momentum() != 0) {
      ThrowError("solver: momentum cannot be used with RMSProp (got momentum: ",
                 param_.momentum(), "); rms_decay sets the averaging");
    }
    if (param_.rms_decay() < 0 || param_.rms_decay() > 1) {
      ThrowError("solver: rms_decay must lie in [0, 1]; got ", param_.rms_decay());
    }
  }
  const char* type() const override { return "RMSProp"; }

 protected:
  void ComputeUpdateValue(int param_id, float rate) override {
    ApplyRule(param_id, RmsPropRule{param_.rms_decay(), local_rate(param_id, rate),
                                    param_.delta()});
  }

};

}  // namespace

std::unique_ptr<Solver> NewRmsPropSolver(const caffe::SolverParameter& param) {
  return std::make_unique<RmsPropSolver>(param);
}

}  // namespace cortado
