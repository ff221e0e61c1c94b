// The optimisation loop shared by every solver: nets, schedule, testing,
// snapshots and resume.
#include "cortado/solver.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <regex>

#include "cortado/hdf5.hpp"
#include "cortado/io.hpp"
#include "cortado/math.hpp"
#include "cortado/math_gpu.hpp"
#include "cortado/parallel.hpp"
#include "cortado/progress.hpp"
#include "cortado/rng.hpp"
#include "solvers/update_rules.hpp"

namespace cortado {
namespace {

using Clock = std::chrono::steady_clock;

// Names the first layer whose outputs are not finite, for the NaN error.
std::string FirstNonFiniteLayer(const Net& net) {
  for (size_t i = 0; i < net.layers().size(); ++i) {
    for (const Blob* top : net.top_vecs()[i]) {
      const float* data = top->cpu_data();
      for (int64_t j = 0; j < top->count(); ++j) {
        if (!std::isfinite(data[j])) {
          return StrCat("layer '", net.layer_names()[i], "' (", net.layers()[i]->type(), ")");
        }
      }
    }
  }
  return "no layer output (the loss itself)";
}

}  // namespace

Solver::Solver(const caffe::SolverParameter& param) : param_(param) {
  if (param_.random_seed() >= 0) SetRandomSeed(param_.random_seed());
  if (param_.iter_size() < 1) ThrowError("solver: iter_size must be at least 1");
  InitTrainNet();
  InitTestNets();
  // Only an explicit solver_mode: GPU selects the GPU (the schema's default
  // says GPU, but an unset field means the CPU, as in Caffe's tool).
  if (param_.has_solver_mode() && param_.solver_mode() == caffe::SolverParameter::GPU) {
    const Device device = Device::Cuda(param_.device_id());
    net_->SetDevice(device);
    for (auto& test_net : test_nets_) test_net->SetDevice(device);
  }
  LOG(INFO) << "Solver (" << param_.type() << ") ready on " << net_->device().ToString();
}

void Solver::InitTrainNet() {
  const int sources = param_.has_net() + param_.has_net_param() + param_.has_train_net() +
                      param_.has_train_net_param();
  if (sources == 0) ThrowError("solver: no train net given (set `net` or `train_net`)");
  if (sources > 1) {
    ThrowError("solver: give exactly one of net, net_param, train_net, train_net_param; got ",
               sources);
  }
  caffe::NetParameter net_param;
  std::string origin = "solver net_param";
  if (param_.has_train_net_param()) {
    net_param.CopyFrom(param_.train_net_param());
  } else if (param_.has_train_net()) {
    origin = param_.train_net();
    ReadNetParamsFromTextFile(param_.train_net(), &net_param);
  } else if (param_.has_net_param()) {
    net_param.CopyFrom(param_.net_param());
  } else {
    origin = param_.net();
    ReadNetParamsFromTextFile(param_.net(), &net_param);
  }
  caffe::NetState state;
  state.set_phase(caffe::TRAIN);
  state.MergeFrom(net_param.state());
  state.MergeFrom(param_.train_state());
  net_param.mutable_state()->CopyFrom(state);
  net_ = std::make_unique<Net>(net_param, origin);
}

void Solver::InitTestNets() {
  const bool generic = param_.has_net() || param_.has_net_param();
  const int specific = param_.test_net_size() + param_.test_net_param_size();
  const int total = specific + (generic ? std::max(0, param_.test_iter_size() - specific) : 0);
  if (param_.test_iter_size() != total) {
    ThrowError("solver: test_iter has ", param_.test_iter_size(), " values but there are ",
               total, " test nets; give one test_iter per test net");
  }
  if (param_.test_state_size() > 0 && param_.test_state_size() != total) {
    ThrowError("solver: test_state has ", param_.test_state_size(), " entries for ", total,
               " test nets");
  }
  for (int i = 0; i < total; ++i) {
    caffe::NetParameter net_param;
    std::string origin = "solver test net_param";
    if (i < param_.test_net_param_size()) {
      net_param.CopyFrom(param_.test_net_param(i));
    } else if (i < specific) {
      origin = param_.test_net(i - param_.test_net_param_size());
      ReadNetParamsFromTextFile(origin, &net_param);
    } else if (param_.has_net_param()) {
      net_param.CopyFrom(param_.net_param());
    } else {
      origin = param_.net();
      ReadNetParamsFromTextFile(param_.net(), &net_param);
    }
    caffe::NetState state;
    state.set_phase(caffe::TEST);
    state.MergeFrom(net_param.state());
    if (param_.test_state_size() > 0) state.MergeFrom(param_.test_state(i));
    net_param.mutable_state()->CopyFrom(state);
    test_nets_.push_back(std::make_unique<Net>(net_param, origin));
    test_nets_.back()->ShareTrainedLayersWith(*net_);
  }
}

void Solver::PlanMemory() {
  net_->PlanMemoryUnlessRefused();
  for (const auto& test_net : test_nets_) test_net->PlanMemoryUnlessRefused();
}

void Solver::RunTestNetsForwardOnly() {
  for (const auto& test_net : test_nets_) test_net->set_forward_only(true);
}

float Solver::GetLearningRate() const {
  const std::string& policy = param_.lr_policy();
  const double base = param_.base_lr();
  const double it = iter_;
  if (policy.empty()) ThrowError("solver: lr_policy is not set (e.g. lr_policy: \"fixed\")");
  if (policy == "fixed") return base;
  if (policy == "step") {
    if (param_.stepsize() <= 0) ThrowError("solver: lr_policy \"step\" needs stepsize > 0");
    return base * std::pow(param_.gamma(), std::floor(it / param_.stepsize()));
  }
  if (policy == "exp") return base * std::pow(param_.gamma(), it);
  if (policy == "inv") return base * std::pow(1.0 + param_.gamma() * it, -param_.power());
  if (policy == "multistep") {
    int step = 0;
    while (step < param_.stepvalue_size() && iter_ >= param_.stepvalue(step)) ++step;
    return base * std::pow(param_.gamma(), step);
  }
  if (policy == "poly") {
    if (param_.max_iter() <= 0) ThrowError("solver: lr_policy \"poly\" needs max_iter > 0");
    return base * std::pow(1.0 - it / param_.max_iter(), param_.power());
  }
  if (policy == "sigmoid") {
    return base * (1.0 / (1.0 + std::exp(-param_.gamma() * (it - param_.stepsize()))));
  }
  ThrowError("solver: unknown lr_policy \"", policy,
             "\" (known: fixed, step, exp, inv, multistep, poly, sigmoid)");
}

void Solver::PrepareSnapshotFolder() const {
  const std::string& prefix = param_.snapshot_prefix();
  if (prefix.empty() || (param_.snapshot() <= 0 && !param_.snapshot_after_train())) return;
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(prefix).parent_path();
  const fs::path folder = parent.empty() ? fs::path(".") : parent;
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    ThrowError("solver: snapshot_prefix \"", prefix, "\": the folder '", folder.string(),
               "' does not exist; create it or change snapshot_prefix");
  }
  if (access(folder.c_str(), W_OK | X_OK) != 0) {
    ThrowError("solver: snapshot_prefix \"", prefix, "\": cannot write to the folder '",
               folder.string(), "': ", std::strerror(errno));
  }
  // Only our own temporaries (prefix_iter_N.caffemodel[.h5].tmp and the
  // solverstate's) are removed; a run killed mid-snapshot leaves them.
  const std::string stem = fs::path(prefix).filename().string();
  const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  const std::regex temp_name(std::regex_replace(stem, special, "\\$&") +
                             R"(_iter_\d+\.(caffemodel|solverstate)(\.h5)?\.tmp)");
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file(ec) || !std::regex_match(name, temp_name)) continue;
    if (fs::remove(entry.path(), ec)) {
      LOG(WARNING) << "Removed " << entry.path().string()
                   << ", an unfinished snapshot left by an interrupted run";
    }
  }
}

void Solver::set_communicator(Communicator* comm) {
  reducer_.reset();
  comm_ = comm;
  if (comm_ == nullptr || comm_->size() == 1) {
    net_->SetDataShard(0, 1);
    return;
  }
  if (comm_->device_buffers() && !net_->device().is_cuda()) {
    ThrowError("solver: ", comm_->Describe(), " reduces on GPUs but the net runs on the CPU");
  }
  net_->SetDataShard(comm_->rank(), comm_->size());
  reducer_ = std::make_unique<GradientReducer>(net_.get(), comm_);
  replicas_synchronized_ = false;
  if (is_root()) {
    LOG(INFO) << "Data-parallel training on " << comm_->size() << " replicas: "
              << reducer_->bytes_per_iteration() << " bytes of gradient allreduced per "
              << "iteration in " << reducer_->num_buckets() << " bucket(s)";
  }
}

void Solver::SynchronizeReplicas() {
  replicas_synchronized_ = true;
  if (!reducer_) return;
  // Every replica reaches here with its own initialisation (or weights, or
  // restored state); the root's becomes everyone's.
  double position[2] = {is_root() ? static_cast<double>(iter_) : 0.0,
                        is_root() ? static_cast<double>(current_step_) : 0.0};
  comm_->AllreduceSumHost(position, 2);
  iter_ = static_cast<int>(position[0]);
  current_step_ = static_cast<int>(position[1]);
  std::vector<Blob*> blobs = net_->learnable_params();
  for (Blob* h : history_blobs()) blobs.push_back(h);
  for (Blob* blob : blobs) {
#ifdef CORTADO_WITH_CUDA
    if (comm_->device_buffers()) {
      comm_->Broadcast(blob->mutable_gpu_data(), blob->count(), 0);
      continue;
    }
#endif
    comm_->Broadcast(blob->mutable_cpu_data(), blob->count(), 0);
  }
}

float Solver::AverageOverReplicas(float value) const {
  if (!reducer_) return value;
  double sum = value;
  comm_->AllreduceSumHost(&sum, 1);
  return static_cast<float>(sum / comm_->size());
}

Solver::Action Solver::AgreeOnAction(Action local) const {
  if (!reducer_) return local;
  double votes[2] = {local == Action::kStop ? 1.0 : 0.0, local == Action::kSnapshot ? 1.0 : 0.0};
  comm_->AllreduceSumHost(votes, 2);
  if (votes[0] > 0) return Action::kStop;
  if (votes[1] > 0) return Action::kSnapshot;
  return Action::kNone;
}

void Solver::Solve(const std::string& resume_file) {
  if (is_root()) PrepareSnapshotFolder();
  LOG(INFO) << "Solving " << net_->name();
  LOG(INFO) << "Learning Rate Policy: " << param_.lr_policy();
  if (!resume_file.empty()) {
    LOG(INFO) << "Restoring previous solver status from " << resume_file;
    Restore(resume_file);
  }
  requested_early_exit_ = false;
  Step(param_.max_iter() - iter_);
  // A stop request (SIGINT) snapshots too, as in Caffe, so the run can resume.
  if (param_.snapshot_after_train() && (!param_.snapshot() || iter_ % param_.snapshot() != 0)) {
    if (param_.snapshot_prefix().empty()) {
      LOG(WARNING) << "No snapshot_prefix: not writing the final snapshot";
    } else {
      Snapshot();
    }
  }
  if (requested_early_exit_) {
    if (progress_line_) progress_line_->Break();
    LOG(INFO) << "Optimization stopped early.";
    return;
  }
  // Every replica runs this pass (its loss is averaged over them), whether
  // or not it logs.
  if (param_.display() && iter_ % param_.display() == 0) {
    float loss;
    net_->Forward(&loss);
    loss = AverageOverReplicas(loss);
    UpdateSmoothedLoss(loss, 0, 1);
    if (log_iterations()) LOG(INFO) << "Iteration " << iter_ << ", loss = " << smoothed_loss_;
  }
  if (param_.test_interval() && iter_ % param_.test_interval() == 0 && is_root()) TestAll();
  if (progress_line_) progress_line_->Break();
  LOG(INFO) << "Optimization Done.";
}

void Solver::UpdateSmoothedLoss(float loss, int start_iter, int average_loss) {
  if (average_loss < 1) average_loss = 1;
  if (static_cast<int>(losses_.size()) < average_loss) {
    losses_.push_back(loss);
    const int size = static_cast<int>(losses_.size());
    smoothed_loss_ = (smoothed_loss_ * (size - 1) + loss) / size;
  } else {
    const int index = (iter_ - start_iter) % average_loss;
    smoothed_loss_ += (loss - losses_[index]) / average_loss;
    losses_[index] = loss;
  }
}

void Solver::set_progress_line(ProgressLine* line, bool keep_log_lines) {
  progress_line_ = line;
  keep_log_lines_ = keep_log_lines;
}

void Solver::ShowProgress(bool force) {
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - progress_time_).count();
  // A few updates a second are enough for a person and cost nothing.
  if (!force && seconds < 0.25) return;
  if (seconds > 0 && iter_ > progress_iter_) {
    const double rate = (iter_ - progress_iter_) / seconds;
    iters_per_second_ = iters_per_second_ > 0 ? 0.7 * iters_per_second_ + 0.3 * rate : rate;
  }
  progress_time_ = now;
  progress_iter_ = iter_;
  TrainingProgress progress;
  progress.iter = iter_;
  progress.max_iter = param_.max_iter();
  progress.loss = smoothed_loss_;
  progress.lr = GetLearningRate();
  progress.iters_per_second = iters_per_second_;
  progress_line_->Show(FormatProgress(progress));
}

void Solver::Step(int iterations) {
  ActivateDevice(net_->device());  // this thread may not have made it current
  if (!replicas_synchronized_) SynchronizeReplicas();
  const int start_iter = iter_;
  progress_time_ = Clock::now();
  progress_iter_ = iter_;
  iters_per_second_ = 0;
  const int stop_iter = iter_ + iterations;
  losses_.clear();
  smoothed_loss_ = 0;
  auto last_display = Clock::now();
  int last_display_iter = iter_;
  while (iter_ < stop_iter) {
    net_->ClearParamDiffs();
    if (param_.test_interval() && iter_ % param_.test_interval() == 0 &&
        (iter_ > 0 || param_.test_initialization()) && is_root()) {
      TestAll();
    }
    const bool display = param_.display() && iter_ % param_.display() == 0;
    net_->set_debug_info(display && param_.debug_info());
    for (const Callback& callback : callbacks_) {
      if (callback.on_start) callback.on_start();
    }
    float loss = 0;
    for (int i = 0; i < param_.iter_size(); ++i) {
      // Only the last pass's gradients are final; earlier ones accumulate.
      if (reducer_ && i == param_.iter_size() - 1) reducer_->Arm();
      loss += net_->ForwardBackward();
    }
    loss /= param_.iter_size();
    if (reducer_) {
      reducer_->Finish();
      // Summed, so a non-finite loss on any replica stops all of them.
      loss = AverageOverReplicas(loss);
    }
    if (!std::isfinite(loss)) {
      // Stop before the update: the weights and every snapshot on disk stay good.
      ThrowError("iteration ", iter_, ": the loss is ", loss, "; the first non-finite output is ",
                 "in ", FirstNonFiniteLayer(*net_), ". Lower base_lr or check the input data. ",
                 last_snapshot_.empty() ? std::string("No snapshot was written in this run.")
                                        : StrCat("The last good snapshot is ", last_snapshot_,
                                                 " (resume with its .solverstate)."));
    }
    UpdateSmoothedLoss(loss, start_iter, param_.average_loss());
    if (display && log_iterations()) {
      // Caffe's wording, kept exactly: log parsers depend on it.
      const auto now = Clock::now();
      const double seconds = std::chrono::duration<double>(now - last_display).count();
      const int done = iter_ - last_display_iter;
      if (done > 0 && seconds > 0) {
        LOG(INFO) << "Iteration " << iter_ << " (" << done / seconds << " iter/s, " << seconds
                  << "s/" << done << " iters), loss = " << smoothed_loss_;
      } else {
        LOG(INFO) << "Iteration " << iter_ << ", loss = " << smoothed_loss_;
      }
      last_display = now;
      last_display_iter = iter_;
      int score_index = 0;
      for (size_t j = 0; j < net_->output_blobs().size(); ++j) {
        const Blob* blob = net_->output_blobs()[j];
        const std::string& name = net_->blob_names()[net_->output_blob_indices()[j]];
        const float weight = net_->blob_loss_weights()[net_->output_blob_indices()[j]];
        for (int64_t k = 0; k < blob->count(); ++k) {
          const float value = blob->cpu_data()[k];
          std::string loss_note;
          if (weight != 0) loss_note = StrCat(" (* ", weight, " = ", weight * value, " loss)");
          LOG(INFO) << "    Train net output #" << score_index++ << ": " << name << " = "
                    << value << loss_note;
        }
      }
    }
    for (const Callback& callback : callbacks_) {
      if (callback.on_gradients_ready) callback.on_gradients_ready();
    }
    ApplyUpdate();
    ++iter_;
    if (progress_line_) ShowProgress(iter_ == stop_iter);
    Action action = AgreeOnAction(action_request_ ? action_request_() : Action::kNone);
    if ((param_.snapshot() && iter_ % param_.snapshot() == 0) || action == Action::kSnapshot) {
      Snapshot();
    }
    if (action == Action::kStop) {
      requested_early_exit_ = true;
      break;
    }
  }
}

std::vector<std::vector<float>> Solver::TestAll() {
  std::vector<std::vector<float>> scores;
  for (size_t i = 0; i < test_nets_.size(); ++i) scores.push_back(Test(static_cast<int>(i)));
  return scores;
}

std::vector<float> Solver::Test(int test_net_id) {
  if (progress_line_) progress_line_->Break();
  LOG(INFO) << "Iteration " << iter_ << ", Testing net (#" << test_net_id << ")";
  Net& net = *test_nets_[test_net_id];
  std::vector<float> scores;
  std::vector<int> score_blob;
  std::vector<std::string> score_name;
  double loss = 0;
  const int iterations = param_.test_iter(test_net_id);
  for (int i = 0; i < iterations; ++i) {
    float iter_loss;
    const BlobVec& outputs = net.Forward(&iter_loss);
    if (param_.test_compute_loss()) loss += iter_loss;
    int index = 0;
    for (size_t j = 0; j < outputs.size(); ++j) {
      const float* data = outputs[j]->cpu_data();
      for (int64_t k = 0; k < outputs[j]->count(); ++k, ++index) {
        if (i == 0) {
          scores.push_back(data[k]);
          score_blob.push_back(net.output_blob_indices()[j]);
        } else {
          scores[index] += data[k];
        }
      }
    }
  }
  if (param_.test_compute_loss()) LOG(INFO) << "Test loss: " << loss / iterations;
  for (size_t i = 0; i < scores.size(); ++i) {
    scores[i] /= iterations;
    const std::string& name = net.blob_names()[score_blob[i]];
    const float weight = net.blob_loss_weights()[score_blob[i]];
    std::string loss_note;
    if (weight != 0) loss_note = StrCat(" (* ", weight, " = ", weight * scores[i], " loss)");
    LOG(INFO) << "    Test net output #" << i << ": " << name << " = " << scores[i] << loss_note;
  }
  return scores;
}

std::string Solver::SnapshotFilename(const std::string& extension) const {
  return StrCat(param_.snapshot_prefix(), "_iter_", iter_, extension);
}

std::string Solver::Snapshot() {
  if (!is_root()) return "";  // one copy of the replicas' identical state
  if (param_.snapshot_prefix().empty()) {
    ThrowError("solver: snapshot requested but snapshot_prefix is empty");
  }
  if (progress_line_) progress_line_->Break();
  const bool hdf5 = param_.snapshot_format() == caffe::SolverParameter::HDF5;
  const std::string model = SnapshotFilename(hdf5 ? ".caffemodel.h5" : ".caffemodel");
  caffe::NetParameter net_param;
  net_->ToProto(&net_param, param_.snapshot_diff());
  if (hdf5) {
    LOG(INFO) << "Snapshotting to HDF5 file " << model;
    WriteNetParamToHdf5(net_param, model);
  } else {
    LOG(INFO) << "Snapshotting to binary proto file " << model;
    WriteProtoToBinaryFile(net_param, model);
  }
  caffe::SolverState state;
  state.set_iter(iter_);
  state.set_learned_net(model);
  int step = 0;
  while (step < param_.stepvalue_size() && iter_ >= param_.stepvalue(step)) ++step;
  state.set_current_step(step);
  SnapshotSolverState(&state);
  for (const auto& layer : net_->layers()) {
    if (layer->IsDataSource()) state.add_data_records_consumed(layer->records_consumed());
  }
  const std::string state_file = SnapshotFilename(hdf5 ? ".solverstate.h5" : ".solverstate");
  if (hdf5) {
    LOG(INFO) << "Snapshotting solver state to HDF5 file " << state_file;
    WriteSolverStateToHdf5(state, state_file);
  } else {
    LOG(INFO) << "Snapshotting solver state to binary proto file " << state_file;
    WriteProtoToBinaryFile(state, state_file);
  }
  last_snapshot_ = model;
  return model;
}

void Solver::Restore(const std::string& state_file) {
  caffe::SolverState state;
  if (IsHdf5Path(state_file)) {
    ReadSolverStateFromHdf5(state_file, &state);
  } else {
    ReadProtoFromBinaryFile(state_file, &state);
  }
  // A negative iteration would train past max_iter (-1 trains one step
  // more than asked; INT_MIN overflows the count of steps left).
  if (state.iter() < 0) {
    ThrowError(state_file, ": iter is ", state.iter(), "; a saved iteration is never negative");
  }
  iter_ = state.iter();
  current_step_ = state.current_step();
  replicas_synchronized_ = reducer_ == nullptr;
  if (state.has_learned_net()) net_->CopyTrainedLayersFrom(state.learned_net());
  try {
    RestoreSolverState(state);
  } catch (const Error& e) {
    ThrowError(state_file, ": ", e.what());
  }
  int k = 0;
  for (const auto& layer : net_->layers()) {
    if (!layer->IsDataSource()) continue;
    if (k < state.data_records_consumed_size()) {
      // Data layers keep adding batch sizes to the count, so leave headroom
      // below the 64-bit limit rather than overflow later.
      constexpr int64_t kMaxRecords = int64_t{1} << 62;
      const int64_t records = state.data_records_consumed(k);
      if (records < 0 || records > kMaxRecords) {
        ThrowError(state_file, ": data_records_consumed ", k, " (layer '", layer->name(),
                   "') is ", records, "; it must be between 0 and ", kMaxRecords);
      }
      layer->SeekToRecord(records);
    }
    ++k;
  }
}

void Solver::LogLearningRate(float rate) const {
  if (!log_iterations()) return;
  LOG(INFO) << "Iteration " << iter_ << ", lr = " << rate;
}

void Solver::ClipGradients() {
  const float clip = param_.clip_gradients();
  if (clip < 0) return;
  const auto& params = net_->learnable_params();
  double sumsq = 0;
  for (const Blob* p : params) sumsq += p->sumsq_diff();
  const float l2 = static_cast<float>(std::sqrt(sumsq));
  if (l2 > clip) {
    LOG(INFO) << "Gradient clipping: scaling down gradients (L2 norm " << l2 << " > " << clip
              << ") by scale factor " << clip / l2;
    for (Blob* p : params) p->scale_diff(clip / l2);
  }
}

void Solver::Normalize(int param_id) {
  if (param_.iter_size() == 1) return;
  Blob* p = net_->learnable_params()[param_id];
  p->scale_diff(1.f / param_.iter_size());
}

void Solver::Regularize(int param_id) {
  Blob* p = net_->learnable_params()[param_id];
  const float decay = param_.weight_decay() * net_->params_weight_decay()[param_id];
  if (decay == 0) return;
  const std::string& type = param_.regularization_type();
  if (type != "L2" && type != "L1") {
    ThrowError("solver: unknown regularization_type \"", type, "\" (known: L2, L1)");
  }
#ifdef CORTADO_WITH_CUDA
  if (net_->device().is_cuda()) {
    if (type == "L2") {
      gpu::Axpy(p->count(), decay, p->gpu_data(), p->mutable_gpu_diff());
    } else {
      RegularizeL1Gpu(p->count(), decay, p->gpu_data(), p->mutable_gpu_diff());
    }
    return;
  }
#endif
  float* diff = p->mutable_cpu_diff();
  const float* data = p->cpu_data();
  if (type == "L2") {
    Axpy(p->count(), decay, data, diff);
  } else {
    ParallelForElements(p->count(), [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) diff[i] += L1Decay(data[i], decay);
    });
  }
}

void ShareRandomSeed(caffe::SolverParameter* param, Communicator* comm) {
  if (param->random_seed() >= 0 || comm == nullptr || comm->size() == 1) return;
  // 31 bits travel exactly through a double sum with zeros.
  double seed = comm->rank() == 0 ? static_cast<double>(std::random_device()() >> 1) : 0.0;
  comm->AllreduceSumHost(&seed, 1);
  param->set_random_seed(static_cast<int64_t>(seed));
}

void ReseedReplica(const caffe::SolverParameter& param, int rank) {
  if (rank > 0) SetRandomSeed(static_cast<uint64_t>(param.random_seed()) * 1000003u + rank);
}

}  // namespace cortado
