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
    Blob* p = net_->learnable_params()[param_id];
    const float lr = local_rate(param_id, rate);
    const float m = param_.momentum();
    float* h = history(0, param_id);
    float* g = p->mutable_cpu_diff();
    const int64_t n = p->count();
    for (int64_t i = 0; i < n; ++i) {
      const float previous = h[i];
      h[i] = m * h[i] + lr * g[i];
      g[i] = (1 + m) * h[i] - m * previous;
    }
  }
};

}  // namespace

std::unique_ptr<Solver> NewNesterovSolver(const caffe::SolverParameter& param) {
  return std::make_unique<NesterovSolver>(param);
}

}  // namespace cortado
