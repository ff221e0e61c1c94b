// Stochastic gradient descent with momentum: v = m*v + lr*g; w -= v.
#include "sgd_solver.hpp"

namespace cortado {

SgdSolver::SgdSolver(const caffe::SolverParameter& param) : Solver(param) {
  for (const Blob* p : net_->learnable_params()) {
    history_.push_back(std::make_unique<Blob>(p->shape()));
  }
}

void SgdSolver::AddHistorySet() {
  for (const Blob* p : net_->learnable_params()) {
    history_.push_back(std::make_unique<Blob>(p->shape()));
  }
}

void SgdSolver::ApplyUpdate() {
  const float rate = GetLearningRate();
  if (param_.display() && iter_ % param_.display() == 0) LogLearningRate(rate);
  ClipGradients();
  cpu_step_.reset();  // a throw in an earlier ComputeUpdateValue may have left one
  // debug_info logs each parameter after Net::Update, so it keeps the passes.
  if (net_->device().is_cuda() || net_->debug_info()) {
    for (int i = 0; i < num_params(); ++i) {
      Normalize(i);
      Regularize(i);
      ComputeUpdateValue(i, rate);
    }
    net_->Update();
    return;
  }
  const float scale = param_.iter_size() == 1 ? 1.f : 1.f / param_.iter_size();
  const bool l2 = param_.regularization_type() == "L2";
  for (int i = 0; i < num_params(); ++i) {
    const float decay = param_.weight_decay() * net_->params_weight_decay()[i];
    if (!l2 && decay != 0) {
      // L1 (or an unknown type, which Regularize reports) in its own pass.
      Normalize(i);
      Regularize(i);
      cpu_step_ = CpuStep{1.f, 0.f};
    } else {
      cpu_step_ = CpuStep{scale, decay};
    }
    ComputeUpdateValue(i, rate);
  }
  cpu_step_.reset();
}

void SgdSolver::ComputeUpdateValue(int param_id, float rate) {
  ApplyRule(param_id, SgdRule{param_.momentum(), local_rate(param_id, rate)});
}

void SgdSolver::SnapshotSolverState(caffe::SolverState* state) const {
  for (const auto& h : history_) h->ToProto(state->add_history());
}

void SgdSolver::RestoreSolverState(const caffe::SolverState& state) {
  if (state.history_size() != static_cast<int>(history_.size())) {
    ThrowError("solver state has ", state.history_size(), " history blobs but a ", type(),
               " solver for this net keeps ", history_.size());
  }
  for (size_t i = 0; i < history_.size(); ++i) {
    try {
      history_[i]->FromProto(state.history(i), /*reshape=*/false);
    } catch (const Error& e) {
      ThrowError("solver state history blob ", i, ": ", e.what());
    }
  }
}

std::unique_ptr<Solver> NewSgdSolver(const caffe::SolverParameter& param) {
  return std::make_unique<SgdSolver>(param);
}

}  // namespace cortado
