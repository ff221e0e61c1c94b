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
    Blob* p = net_->learnable_params()[param_id];
    const float lr = local_rate(param_id, rate);
    const float delta = param_.delta();
    const float d = param_.momentum();
    float* a = history(0, param_id);
    float* b = history(1, param_id);
    float* g = p->mutable_cpu_diff();
    const int64_t n = p->count();
    for (int64_t i = 0; i < n; ++i) {
      a[i] = d * a[i] + (1 - d) * g[i] * g[i];
      const float u = g[i] * std::sqrt((b[i] + delta) / (a[i] + delta));
      b[i] = d * b[i] + (1 - d) * u * u;
      g[i] = lr * u;
    }
  }
};

}  // namespace

std::unique_ptr<Solver> NewAdaDeltaSolver(const caffe::SolverParameter& param) {
  return std::make_unique<AdaDeltaSolver>(param);
}

}  // namespace cortado
