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
    Blob* p = net_->learnable_params()[param_id];
    const float b1 = param_.momentum();
    const float b2 = param_.momentum2();
    const float delta = param_.delta();
    const int t = iter_ + 1;
    const float correction = std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
    const float step = local_rate(param_id, rate) * correction;
    float* m = history(0, param_id);
    float* v = history(1, param_id);
    float* g = p->mutable_cpu_diff();
    const int64_t n = p->count();
    for (int64_t i = 0; i < n; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      g[i] = step * (m[i] / (std::sqrt(v[i]) + delta));
    }
  }
};

}  // namespace

std::unique_ptr<Solver> NewAdamSolver(const caffe::SolverParameter& param) {
  return std::make_unique<AdamSolver>(param);
}

}  // namespace cortado
