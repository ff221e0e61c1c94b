// SgdSolver: momentum SGD, and the base every other update rule builds on.
// Subclasses override ComputeUpdateValue; the shared order (clip, normalise,
// regularise, compute the step, apply it) and the history snapshot live here.
#ifndef CORTADO_SRC_SOLVERS_SGD_SOLVER_HPP_
#define CORTADO_SRC_SOLVERS_SGD_SOLVER_HPP_

#include <memory>
#include <optional>
#include <vector>

#include "cortado/parallel.hpp"
#include "cortado/solver.hpp"
#include "update_rules.hpp"

namespace cortado {

class SgdSolver : public Solver {
 public:
  explicit SgdSolver(const caffe::SolverParameter& param);
  const char* type() const override { return "SGD"; }
  std::vector<Blob*> history_blobs() const override {
    std::vector<Blob*> blobs;
    for (const auto& h : history_) blobs.push_back(h.get());
    return blobs;
  }

 protected:
  void ApplyUpdate() override;
  // Replaces param_id's diff (the regularised gradient) with the step that
  // Net::Update subtracts. `rate` is the global learning rate.
  virtual void ComputeUpdateValue(int param_id, float rate);
  // Saves every history blob in order; solvers with two sets (AdaDelta, Adam)
  // save 2N blobs, first set first, as BVLC Caffe does.
  void SnapshotSolverState(caffe::SolverState* state) const override;
  void RestoreSolverState(const caffe::SolverState& state) override;

  // Adds a second zeroed history blob per learnable parameter.
  void AddHistorySet();
  int num_params() const { return static_cast<int>(net_->learnable_params().size()); }
  // Runs `rule` over one parameter's diff and history, on the device the net
  // computes on (the history blobs follow the parameters there).
  template <typename Rule>
  void ApplyRule(int param_id, const Rule& rule) {
    Blob* p = net_->learnable_params()[param_id];
    const int64_t n = p->count();
    Blob* h0 = history_[param_id].get();
    // Single-history rules never touch h1; aliasing h0 keeps one signature.
    Blob* h1 = history_.size() > static_cast<size_t>(num_params())
                   ? history_[num_params() + param_id].get()
                   : h0;
#ifdef CORTADO_WITH_CUDA
    if (net_->device().is_cuda()) {
      ApplyRuleGpu(n, rule, p->mutable_gpu_diff(), h0->mutable_gpu_data(),
                   h1->mutable_gpu_data());
      return;
    }
#endif
    float* g = p->mutable_cpu_diff();
    float* a = h0->mutable_cpu_data();
    float* b = h1->mutable_cpu_data();
    if (!cpu_step_) {
      ParallelForElements(n, [=](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) rule(g[i], a[i], b[i]);
      });
      return;
    }
    // Normalize, an L2 Regularize, the rule and Net::Update in one pass,
    // with each element's operations in their separate passes' order.
    const float scale = cpu_step_->scale, decay = cpu_step_->l2_decay;
    float* w = p->mutable_cpu_data();
    ParallelForElements(n, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        float step = scale == 1.f ? g[i] : g[i] * scale;
        if (decay != 0.f) step += decay * w[i];
        rule(step, a[i], b[i]);
        g[i] = step;
        w[i] += -1.f * step;
      }
    });
  }
  float local_rate(int param_id, float rate) const {
    return rate * net_->params_lr()[param_id];
  }

 private:
  // On the CPU, ApplyUpdate has ApplyRule fold the steps around the rule
  // into its pass over a parameter: four passes over LeNet's 431,000
  // weights, gradients and history cost 0.26 ms an iteration, 5 % of its
  // training pass. Set during ApplyUpdate's call of ComputeUpdateValue only.
  struct CpuStep {
    float scale;     // Normalize's 1 / iter_size
    float l2_decay;  // an L2 Regularize's decay; 0 where L1 ran on its own
  };
  std::optional<CpuStep> cpu_step_;
  std::vector<std::unique_ptr<Blob>> history_;
};

// One factory per update rule, listed in src/solvers/builtin_solvers.cpp.
std::unique_ptr<Solver> NewSgdSolver(const caffe::SolverParameter& param);
std::unique_ptr<Solver> NewNesterovSolver(const caffe::SolverParameter& param);
std::unique_ptr<Solver> NewAdaGradSolver(const caffe::SolverParameter& param);
std::unique_ptr<Solver> NewRmsPropSolver(const caffe::SolverParameter& param);
std::unique_ptr<Solver> NewAdaDeltaSolver(const caffe::SolverParameter& param);
std::unique_ptr<Solver> NewAdamSolver(const caffe::SolverParameter& param);

}  // namespace cortado

#endif  // CORTADO_SRC_SOLVERS_SGD_SOLVER_HPP_
