// Solver: owns the train net (and test nets), runs the optimisation loop,
// learning-rate schedule, testing and snapshots. Update rules live in
// subclasses, one file each under src/solvers/.
#ifndef CORTADO_SOLVER_HPP_
#define CORTADO_SOLVER_HPP_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/communicator.hpp"
#include "cortado/gradient_reducer.hpp"
#include "cortado/net.hpp"

namespace cortado {

class ProgressLine;

class Solver {
 public:
  explicit Solver(const caffe::SolverParameter& param);
  virtual ~Solver() = default;
  CORTADO_DISALLOW_COPY(Solver);

  // Trains to max_iter (resuming from a .solverstate if given).
  void Solve(const std::string& resume_file = "");
  void Step(int iterations);
  // Writes <prefix>_iter_N.caffemodel and .solverstate (or .caffemodel.h5 and
  // .solverstate.h5 with snapshot_format: HDF5); returns the model path.
  std::string Snapshot();
  // Reads a .solverstate or .solverstate.h5 (told apart by the suffix).
  void Restore(const std::string& state_file);
  // Runs every test net; returns their scores (one vector per test net).
  std::vector<std::vector<float>> TestAll();

  float GetLearningRate() const;
  const caffe::SolverParameter& param() const { return param_; }
  // Plans blob memory in the train and test nets, except those whose
  // prototxt says plan_memory: false (Net::PlanMemoryUnlessRefused).
  void PlanMemory();
  // The tools' test nets: forward only, so fused and planned as inference
  // (Net::set_forward_only). pycaffe's are not, as scripts may read any of
  // their blobs.
  void RunTestNetsForwardOnly();
  Net* net() { return net_.get(); }
  const std::vector<std::unique_ptr<Net>>& test_nets() const { return test_nets_; }
  int iter() const { return iter_; }
  float smoothed_loss() const { return smoothed_loss_; }
  virtual const char* type() const = 0;

  // Shows a live status line while training (the CLI does so when stdout is
  // a terminal). Unless keep_log_lines, the periodic `Iteration N, loss`
  // and `lr` log lines are left out, the line taking their place; test
  // results and snapshots are still logged. Not owned; nullptr turns it off.
  void set_progress_line(ProgressLine* line, bool keep_log_lines);

  // Asked between iterations; lets the CLI stop or snapshot on a signal.
  // With several replicas, any replica's request acts on all of them at the
  // same iteration (stop wins over snapshot).
  enum class Action { kNone, kStop, kSnapshot };
  void set_action_request(std::function<Action()> fn) { action_request_ = std::move(fn); }

  // Hooks run by every iteration of Step, in the order added: on_start
  // before the forward/backward passes, on_gradients_ready once the
  // gradients are final (averaged over replicas), before the update.
  // pycaffe's Solver.add_callback; either may be empty.
  struct Callback {
    std::function<void()> on_start;
    std::function<void()> on_gradients_ready;
  };
  void add_callback(Callback callback) { callbacks_.push_back(std::move(callback)); }

  // Data-parallel training: this solver is one replica of `comm` (not owned;
  // it must outlive the solver). Data sources read only this replica's share
  // of each global batch, gradients are averaged over the replicas during
  // backward, the root's parameters and history are copied to every replica
  // before the first step (and after a Restore), and only the root (rank 0)
  // tests and writes snapshots. nullptr trains alone.
  void set_communicator(Communicator* comm);
  Communicator* communicator() const { return comm_; }
  bool is_root() const { return comm_ == nullptr || comm_->rank() == 0; }
  // Bytes of gradient each replica allreduces per iteration (0 alone).
  int64_t gradient_bytes_per_iteration() const {
    return reducer_ ? reducer_->bytes_per_iteration() : 0;
  }
  // The update rule's state (momentum and the like), one blob per learnable
  // parameter and set, in snapshot order.
  virtual std::vector<Blob*> history_blobs() const { return {}; }

 protected:
  virtual void ApplyUpdate() = 0;
  virtual void SnapshotSolverState(caffe::SolverState* state) const = 0;
  virtual void RestoreSolverState(const caffe::SolverState& state) = 0;

  // Shared pieces for update rules.
  void ClipGradients();
  // Scales diffs by 1/iter_size.
  void Normalize(int param_id);
  // Adds weight decay (L2 or L1) to the diff.
  void Regularize(int param_id);
  // The classic `Iteration N, lr = X` line, logged on display iterations.
  void LogLearningRate(float rate) const;

  caffe::SolverParameter param_;
  int iter_ = 0;
  int current_step_ = 0;
  std::unique_ptr<Net> net_;
  std::vector<std::unique_ptr<Net>> test_nets_;

 private:
  void InitTrainNet();
  void InitTestNets();
  std::vector<float> Test(int test_net_id);
  void UpdateSmoothedLoss(float loss, int start_iter, int average_loss);
  std::string SnapshotFilename(const std::string& extension) const;
  // Before training: the snapshot folder must exist and be writable, and
  // temporary snapshot files a killed run left behind are removed.
  void PrepareSnapshotFolder() const;

  // Replicas other than the root train silently (their numbers are the root's).
  bool log_iterations() const { return is_root() && (!progress_line_ || keep_log_lines_); }
  // Copies the root's parameters, history and iteration to every replica.
  void SynchronizeReplicas();
  float AverageOverReplicas(float value) const;
  Action AgreeOnAction(Action local) const;
  void ShowProgress(bool force);

  ProgressLine* progress_line_ = nullptr;
  bool keep_log_lines_ = true;
  std::chrono::steady_clock::time_point progress_time_;
  int progress_iter_ = 0;
  double iters_per_second_ = 0;
  std::string last_snapshot_;  // model file of the newest snapshot, for messages
  std::vector<float> losses_;
  float smoothed_loss_ = 0;
  std::function<Action()> action_request_;
  std::vector<Callback> callbacks_;
  bool requested_early_exit_ = false;
  Communicator* comm_ = nullptr;
  std::unique_ptr<GradientReducer> reducer_;
  bool replicas_synchronized_ = true;
};

// Data-parallel set-up, shared by the CLI and Python. Every replica must
// start from the same weights and read the same global data order, so all
// are built with one seed: the solver's, or one the root draws and shares.
void ShareRandomSeed(caffe::SolverParameter* param, Communicator* comm);
// Once the replicas are built, replicas other than the root reseed, so that
// what should differ between them (dropout masks) does; the root keeps the
// stream a single process would have.
void ReseedReplica(const caffe::SolverParameter& param, int rank);

// Builds the solver named by param.type() ("SGD", ...); throws Error for an
// unknown type.
std::unique_ptr<Solver> CreateSolver(const caffe::SolverParameter& param);

}  // namespace cortado

#endif  // CORTADO_SOLVER_HPP_
