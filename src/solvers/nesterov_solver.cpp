// Nesterov's accelerated gradient in Caffe's form: v' = m*v + lr*g;
// step = (1+m)*v' - m*v.
#include "sgd_solver.hpp"

namespace cortado {
namespace {

class NesterovSolver : public SgdSolver {
 public:
  using SgdSolver::SgdSolver;
  const char* type() const override { return "Nesterov"; }

 protected:
  void ComputeUpdateValue(int param_id, float rate) override {
    ApplyRule(param_id, NesterovRule{param_.momentum(), local_rate(param_id, rate)});
  }

};

}  // namespace

std::unique_ptr<Solver> NewNesterovSolver(const caffe::SolverParameter& param) {
  return std::make_unique<NesterovSolver>(param);
}

}  // namespace cortado
