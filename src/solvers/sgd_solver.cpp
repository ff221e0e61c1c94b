// Stochastic gradient descent with momentum: v = m*v + lr*g; w -= v.
#include <cmath>

#include "cortado/math.hpp"
#include "cortado/solver.hpp"

namespace cortado {
namespace {

class SgdSolver : public Solver {
 public:
  explicit SgdSolver(const caffe::SolverParameter& param) : Solver(param) {
    for (const Blob* p : net_->learnable_params()) {
      history_.push_back(std::make_unique<Blob>(p->shape()));
    }
  }
  const char* type() const override { return "SGD"; }

 protected:
  void ApplyUpdate() override {
    const float rate = GetLearningRate();
    if (param_.display() && iter_ % param_.display() == 0) {
      LOG(INFO) << "Iteration " << iter_ << ", lr = " << rate;
    }
    ClipGradients();
    for (size_t i = 0; i < net_->learnable_params().size(); ++i) {
      Normalize(static_cast<int>(i));
      Regularize(static_cast<int>(i));
      ComputeUpdateValue(static_cast<int>(i), rate);
    }
    net_->Update();
  }

  void ComputeUpdateValue(int param_id, float rate) {
    Blob* p = net_->learnable_params()[param_id];
    const float local_rate = rate * net_->params_lr()[param_id];
    const float momentum = param_.momentum();
    float* history = history_[param_id]->mutable_cpu_data();
    float* diff = p->mutable_cpu_diff();
    for (int64_t i = 0; i < p->count(); ++i) {
      history[i] = momentum * history[i] + local_rate * diff[i];
      diff[i] = history[i];
    }
  }

  void SnapshotSolverState(caffe::SolverState* state) const override {
    for (const auto& h : history_) h->ToProto(state->add_history());
  }

  void RestoreSolverState(const caffe::SolverState& state) override {
    if (state.history_size() != static_cast<int>(history_.size())) {
      ThrowError("solver state has ", state.history_size(), " history blobs but the net has ",
                 history_.size(), " learnable parameters");
    }
    for (size_t i = 0; i < history_.size(); ++i) {
      history_[i]->FromProto(state.history(i), /*reshape=*/false);
    }
  }

 private:
  std::vector<std::unique_ptr<Blob>> history_;
};

}  // namespace

std::unique_ptr<Solver> CreateSolver(const caffe::SolverParameter& param) {
  if (param.type() == "SGD") return std::make_unique<SgdSolver>(param);
  ThrowError("solver: unknown or unsupported solver type \"", param.type(),
             "\" (this build has: SGD)");
}

}  // namespace cortado
