// The `cortado` command: train, test, time, device_query and layers, with
// the flags of Caffe's `caffe` tool.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "cortado/common.hpp"
#include "cortado/communicator.hpp"
#include "cortado/device.hpp"
#include "cortado/io.hpp"
#include "cortado/layer_registry.hpp"
#include "cortado/nccl.hpp"
#include "cortado/parallel.hpp"
#include "cortado/net.hpp"
#include "cortado/plugin.hpp"
#include "cortado/progress.hpp"
#include "cortado/rng.hpp"
#include "cortado/solver.hpp"
#include "cortado/stub_data.hpp"
#include "check_command.hpp"
#include "deploy_command.hpp"
#include "export_command.hpp"
#include "zoo_command.hpp"


DEFINE_string(gpu, "", "GPU ids to use (e.g. '0', '0,1' or 'all'); empty runs on the CPU. "
                       "Several ids train data-parallel (NCCL); under mpirun each rank "
                       "takes the id at its local rank");
DEFINE_string(solver, "", "The solver definition protocol buffer text file");
DEFINE_string(model, "", "The model definition protocol buffer text file");
DEFINE_string(phase, "", "Network phase (TRAIN or TEST); only used by 'time'");
DEFINE_int32(level, 0, "Network level");
DEFINE_string(stage, "", "Network stages, comma-separated");
DEFINE_string(snapshot, "", "A .solverstate snapshot to resume training from");
DEFINE_string(weights, "", "Pretrained .caffemodel files to start from, comma-separated; "
                           "cannot be combined with --snapshot");
DEFINE_int32(threads, 0, "CPU threads for layers, GEMM and oneDNN (0: CORTADO_NUM_THREADS, "
             "else OMP_NUM_THREADS, else every hardware thread)");
DEFINE_int32(iterations, 50, "Number of iterations for 'test' and 'time'");
DEFINE_string(sigint_effect, "stop", "What SIGINT does: snapshot, stop or none");
DEFINE_bool(fuse, true, "'test', 'time' with a TEST net, and the test nets of 'train': fuse "
            "BatchNorm/Scale, ReLU, Eltwise SUM and Dropout into the Convolution/InnerProduct "
            "before them "
            "(see docs/performance.md); --fuse=false runs every layer on its own");
DEFINE_bool(plan_memory, true, "'train', 'test' and 'time': plan blob storage from lifetimes so "
            "blobs share one arena (docs/memory.md); a prototxt's plan_memory: false wins");
DEFINE_bool(stub_data, false, "'time': replace data layers whose source is missing with Input "
                             "layers of the shape they declare");
DEFINE_string(stub_shape, "", "With --stub_data: item shapes for tops whose layer declares none, "
                              "e.g. 'data:1,28,28;pair_data:2,28,28'");
DEFINE_string(sighup_effect, "snapshot", "What SIGHUP does: snapshot, stop or none");
// Read by TakePluginFlags before gflags runs (gflags keeps only the last of a
// repeated flag); defined here so --help lists it.
DEFINE_string(plugin, "", "A plugin layer library (.so) to load before the command runs; "
                          "repeat the flag for several. CORTADO_PLUGIN_PATH (colon-separated) "
                          "adds more");

namespace cortado {
namespace {

std::atomic<bool> got_sigint{false};
std::atomic<bool> got_sighup{false};

void HandleSignal(int signal) {
  // mpirun answers Ctrl-C by sending SIGTERM to every rank: the same request.
  if (signal == SIGINT || signal == SIGTERM) got_sigint = true;
  if (signal == SIGHUP) got_sighup = true;
}

// The MPI job this process belongs to, when mpirun started it with several
// ranks; null otherwise. Set by main before the command runs, so errors can
// end the whole job.
std::unique_ptr<Communicator> mpi_world;

Solver::Action ParseEffect(const std::string& flag, const std::string& value) {
  if (value == "stop") return Solver::Action::kStop;
  if (value == "snapshot") return Solver::Action::kSnapshot;
  if (value == "none") return Solver::Action::kNone;
  ThrowError("--", flag, "=", value, " is not one of: stop, snapshot, none");
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// --gpu: empty means the CPU; "0" one GPU; "all" every GPU. Several GPUs
// at once are data-parallel training, which is not built yet.
std::vector<int> ParseGpuIds() {
  std::vector<int> ids;
  if (FLAGS_gpu == "all") {
    for (int i = 0; i < CudaDeviceCount(); ++i) ids.push_back(i);
    if (ids.empty()) {
      ThrowError("--gpu=all: no GPU is usable: ", CudaUnavailableReason());
    }
    return ids;
  }
  for (const std::string& id : SplitCommas(FLAGS_gpu)) {
    char* end = nullptr;
    const long value = std::strtol(id.c_str(), &end, 10);
    if (end == id.c_str() || *end != '\0' || value < 0) {
      ThrowError("--gpu=", FLAGS_gpu, ": '", id, "' is not a GPU id (use e.g. --gpu=0)");
    }
    ids.push_back(static_cast<int>(value));
  }
  return ids;
}

// The one device a command runs on, from --gpu; checked before any work.
// Under mpirun, each rank takes the id at its local rank (wrapping around).
Device SelectDevice() {
  if (FLAGS_gpu.empty()) return Device::Cpu();
  const std::vector<int> ids = ParseGpuIds();
  if (ids.size() > 1 && !mpi_world) {
    ThrowError("--gpu=", FLAGS_gpu, ": several GPUs train data-parallel only with 'train'");
  }
  int index = 0;
  if (mpi_world) {
    const char* local_rank = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
    index = (local_rank ? std::atoi(local_rank) : mpi_world->rank()) % ids.size();
  }
  const Device device = Device::Cuda(ids[index]);
  ActivateDevice(device);  // throws a clear error when there is no such GPU
  LOG(INFO) << "Using " << device.ToString();
  return device;
}

caffe::Phase ParsePhase(const std::string& phase, caffe::Phase fallback) {
  if (phase.empty()) return fallback;
  if (phase == "TRAIN") return caffe::TRAIN;
  if (phase == "TEST") return caffe::TEST;
  ThrowError("--phase=", phase, " must be TRAIN or TEST");
}

// The signals a training run answers, turned into solver actions.
std::function<Solver::Action()> SignalActions() {
  const Solver::Action on_sigint = ParseEffect("sigint_effect", FLAGS_sigint_effect);
  const Solver::Action on_sighup = ParseEffect("sighup_effect", FLAGS_sighup_effect);
  std::signal(SIGINT, HandleSignal);
  std::signal(SIGHUP, HandleSignal);
  if (mpi_world) std::signal(SIGTERM, HandleSignal);
  return [on_sigint, on_sighup]() {
    if (got_sigint.exchange(false)) {
      LOG(INFO) << "SIGINT received";
      return on_sigint;
    }
    if (got_sighup.exchange(false)) {
      LOG(INFO) << "SIGHUP received";
      return on_sighup;
    }
    return Solver::Action::kNone;
  };
}

std::unique_ptr<Solver> BuildSolver(const caffe::SolverParameter& param) {
  std::unique_ptr<Solver> solver = CreateSolver(param);
  solver->RunTestNetsForwardOnly();
  if (!FLAGS_fuse) {
    for (const auto& test_net : solver->test_nets()) test_net->set_fuse_inference(false);
  }
  if (FLAGS_plan_memory) solver->PlanMemory();
  // Fine-tuning keeps Caffe's contract: layers the weights lack (a renamed
  // classifier) start from their fillers, with a warning naming them. Weights
  // that match no layer at all are an error.
  if (!FLAGS_weights.empty()) {
    LOG(INFO) << "Finetuning from " << FLAGS_weights;
    const std::vector<std::string> files = SplitCommas(FLAGS_weights);
    solver->net()->CopyTrainedLayersFrom(files, Net::MissingWeights::kWarn);
    for (const auto& test_net : solver->test_nets()) {
      test_net->CopyTrainedLayersFrom(files, Net::MissingWeights::kWarn);
    }
  }
  return solver;
}

// One process, several GPUs: a thread and a solver per GPU, gradients
// averaged with NCCL. GPU i is replica i; replica 0 logs, tests and snapshots.
int TrainOnGpus(caffe::SolverParameter param, const std::vector<int>& ids) {
  std::vector<std::unique_ptr<Communicator>> group = OpenNcclGroup(ids);
  if (param.random_seed() < 0) param.set_random_seed(std::random_device()() >> 1);
  const std::function<Solver::Action()> actions = SignalActions();
  std::vector<std::unique_ptr<Solver>> solvers;
  for (size_t i = 0; i < ids.size(); ++i) {
    caffe::SolverParameter replica = param;
    replica.set_solver_mode(caffe::SolverParameter::GPU);
    replica.set_device_id(ids[i]);
    ActivateDevice(Device::Cuda(ids[i]));
    solvers.push_back(BuildSolver(replica));
    solvers.back()->set_communicator(group[i].get());
    solvers.back()->set_action_request(actions);
  }
  LOG(INFO) << "Starting Optimization on GPUs " << FLAGS_gpu;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i]() {
      // Each thread has its own generator (GlobalRng is per thread).
      SetRandomSeed(static_cast<uint64_t>(param.random_seed()));
      ReseedReplica(param, static_cast<int>(i));
      try {
        solvers[i]->Solve(FLAGS_snapshot);
      } catch (const std::exception& e) {
        // The other GPUs would wait in NCCL for this one forever.
        std::fprintf(stderr, "cortado: error on GPU %d (replica %zu of %zu): %s\n", ids[i], i,
                     ids.size(), e.what());
        std::fflush(stderr);
        std::_Exit(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return 0;
}

int Train() {
  if (FLAGS_solver.empty()) ThrowError("train needs --solver=<solver.prototxt>");
  if (!FLAGS_snapshot.empty() && !FLAGS_weights.empty()) {
    ThrowError("give --snapshot or --weights, not both: a snapshot already holds the weights");
  }
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(FLAGS_solver, &param);
  param.mutable_train_state()->set_level(FLAGS_level);
  for (const std::string& stage : SplitCommas(FLAGS_stage)) {
    param.mutable_train_state()->add_stage(stage);
  }
  if (!mpi_world && !FLAGS_gpu.empty() && ParseGpuIds().size() > 1) {
    return TrainOnGpus(param, ParseGpuIds());
  }
  // As in Caffe, --gpu wins; without it the solver file's solver_mode and
  // device_id decide. Solver files written for a GPU still train on a
  // machine without one, and the log says so.
  if (!FLAGS_gpu.empty()) {
    const Device device = SelectDevice();
    param.set_solver_mode(device.is_cuda() ? caffe::SolverParameter::GPU
                                           : caffe::SolverParameter::CPU);
    param.set_device_id(device.id());
  } else if (param.has_solver_mode() && param.solver_mode() == caffe::SolverParameter::GPU) {
    if (CudaDeviceCount() > param.device_id()) {
      LOG(INFO) << "Using GPU " << param.device_id() << " (solver_mode: GPU in "
                << FLAGS_solver << ")";
    } else {
      LOG(WARNING) << FLAGS_solver << " asks for solver_mode: GPU (device_id "
                   << param.device_id() << ") but no such GPU is usable ("
                   << CudaUnavailableReason() << "); training on the CPU";
      param.set_solver_mode(caffe::SolverParameter::CPU);
    }
  } else {
    param.set_solver_mode(caffe::SolverParameter::CPU);
  }
  const std::function<Solver::Action()> actions = SignalActions();
  std::unique_ptr<Communicator> nccl;
  if (mpi_world) ShareRandomSeed(&param, mpi_world.get());
  std::unique_ptr<Solver> solver = BuildSolver(param);
  solver->set_action_request(actions);
  if (mpi_world) {
    Communicator* comm = mpi_world.get();
    if (param.solver_mode() == caffe::SolverParameter::GPU && NcclBuilt()) {
      nccl = OpenNcclOverMpi(mpi_world.get(), param.device_id());
      comm = nccl.get();
    }
    solver->set_communicator(comm);
    ReseedReplica(param, comm->rank());
    LOG(INFO) << "Replica " << comm->Describe();
  }
  // People at a terminal get one live status line; logs that go to a file
  // or a pipe keep Caffe's classic lines for the parsers that read them.
  std::unique_ptr<ProgressLine> progress;
  if (isatty(STDOUT_FILENO) && solver->is_root()) {
    progress = std::make_unique<ProgressLine>(stdout);
    solver->set_progress_line(progress.get(), /*keep_log_lines=*/!isatty(STDERR_FILENO));
  }
  LOG(INFO) << "Starting Optimization";
  solver->Solve(FLAGS_snapshot);
  return 0;
}

std::unique_ptr<Net> LoadModel(caffe::Phase phase, bool stub_data = false) {
  if (FLAGS_model.empty()) ThrowError("this command needs --model=<net.prototxt>");
  if (!stub_data) {
    return std::make_unique<Net>(FLAGS_model, phase, FLAGS_level, SplitCommas(FLAGS_stage));
  }
  caffe::NetParameter param;
  ReadNetParamsFromTextFile(FLAGS_model, &param);
  param.mutable_state()->set_phase(phase);
  param.mutable_state()->set_level(FLAGS_level);
  for (const std::string& stage : SplitCommas(FLAGS_stage)) param.mutable_state()->add_stage(stage);
  StubDataOptions options;
  options.item_shapes = ParseItemShapes(FLAGS_stub_shape);
  try {
    StubDataSources(&param, options);
    return std::make_unique<Net>(param);
  } catch (const Error& e) {
    ThrowError(FLAGS_model, ": ", e.what());
  }
}

int Test() {
  if (FLAGS_iterations < 1) ThrowError("--iterations=", FLAGS_iterations, " must be at least 1");
  const Device device = SelectDevice();
  std::unique_ptr<Net> net = LoadModel(caffe::TEST);
  net->set_forward_only(true);
  if (!FLAGS_fuse) net->set_fuse_inference(false);
  if (FLAGS_plan_memory) net->PlanMemoryUnlessRefused();
  net->SetDevice(device);
  // Testing a net some of whose layers kept random weights gives wrong
  // scores, so every layer with parameters must be in the weights.
  if (!FLAGS_weights.empty()) {
    net->CopyTrainedLayersFrom(SplitCommas(FLAGS_weights), Net::MissingWeights::kError);
  }
  if (FLAGS_weights.empty()) LOG(WARNING) << "No --weights given: testing random weights";
  LOG(INFO) << "Running for " << FLAGS_iterations << " iterations.";
  std::vector<double> scores;
  std::vector<std::pair<int, int64_t>> score_source;  // (output index, element)
  double loss = 0;
  for (int i = 0; i < FLAGS_iterations; ++i) {
    float iter_loss;
    const BlobVec& outputs = net->Forward(&iter_loss);
    loss += iter_loss;
    size_t index = 0;
    for (size_t j = 0; j < outputs.size(); ++j) {
      const std::string& name = net->blob_names()[net->output_blob_indices()[j]];
      for (int64_t k = 0; k < outputs[j]->count(); ++k, ++index) {
        const float value = outputs[j]->cpu_data()[k];
        if (i == 0) {
          scores.push_back(value);
          score_source.push_back({static_cast<int>(j), k});
        } else {
          scores[index] += value;
        }
        LOG(INFO) << "Batch " << i << ", " << name << " = " << value;
      }
    }
  }
  loss /= FLAGS_iterations;
  LOG(INFO) << "Loss: " << loss;
  for (size_t i = 0; i < scores.size(); ++i) {
    const int blob_id = net->output_blob_indices()[score_source[i].first];
    const std::string& name = net->blob_names()[blob_id];
    const float weight = net->blob_loss_weights()[blob_id];
    const double mean = scores[i] / FLAGS_iterations;
    std::ostringstream line;
    line << name << " = " << mean;
    if (weight != 0) line << " (* " << weight << " = " << weight * mean << " loss)";
    LOG(INFO) << line.str();
  }
  return 0;
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

int Time() {
  const Device device = SelectDevice();
  std::unique_ptr<Net> net = LoadModel(ParsePhase(FLAGS_phase, caffe::TRAIN), FLAGS_stub_data);
  if (!FLAGS_fuse) net->set_fuse_inference(false);
  if (FLAGS_plan_memory) net->PlanMemoryUnlessRefused();
  net->SetDevice(device);
  using Clock = std::chrono::steady_clock;
  const auto& layers = net->layers();
  const int n = static_cast<int>(layers.size());
  LOG(INFO) << "Performing one warm-up forward-backward pass.";
  float loss;
  net->Forward(&loss);
  net->Backward();
  SynchronizeDevice(device);
  const int iterations = std::max(1, FLAGS_iterations);
  // What a user feels: whole passes, timed end to end.
  std::vector<double> pass_forward, pass_forward_backward;
  for (int it = 0; it < iterations; ++it) {
    auto start = Clock::now();
    net->Forward(&loss);
    SynchronizeDevice(device);
    auto forward_done = Clock::now();
    net->Backward();
    SynchronizeDevice(device);
    pass_forward.push_back(std::chrono::duration<double, std::milli>(forward_done - start).count());
    pass_forward_backward.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::printf("Whole passes over %d iterations on %d CPU thread(s) (ms):  median      min\n",
              iterations, NumThreads());
  std::printf("  forward                                                %9.3f %9.3f\n", Median(pass_forward),
              *std::min_element(pass_forward.begin(), pass_forward.end()));
  std::printf("  forward+backward                                       %9.3f %9.3f\n",
              Median(pass_forward_backward),
              *std::min_element(pass_forward_backward.begin(), pass_forward_backward.end()));
  // Then where the time goes: each layer timed alone, with a device sync
  // after it, so the sum can exceed the whole pass.
  std::vector<double> forward_ms(n, 0), backward_ms(n, 0);
  double total_forward = 0, total_backward = 0;
  for (int it = 0; it < iterations; ++it) {
    for (int i = 0; i < n; ++i) {
      auto start = Clock::now();
      // As Forward() runs it: a fused chain's time is its head's.
      net->ForwardLayer(i);
      SynchronizeDevice(device);  // kernels run asynchronously
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      forward_ms[i] += ms;
      total_forward += ms;
    }
    for (int i = n - 1; i >= 0; --i) {
      if (!net->layer_need_backward()[i]) continue;
      auto start = Clock::now();
      // As Backward() runs it: what planning recomputes before this layer's
      // backward counts in its time.
      net->BackwardFromTo(i, i);
      SynchronizeDevice(device);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      backward_ms[i] += ms;
      total_backward += ms;
    }
  }
  std::printf("Average time per layer over %d iterations (ms):\n", iterations);
  std::printf("%-24s %-18s %12s %12s\n", "layer", "type", "forward", "backward");
  for (int i = 0; i < n; ++i) {
    const std::string type =
        std::string(layers[i]->type()) + (net->layer_fused_away(i) ? " (fused)" : "");
    std::printf("%-24s %-18s %12.4f %12.4f\n", net->layer_names()[i].c_str(), type.c_str(),
                forward_ms[i] / iterations, backward_ms[i] / iterations);
  }
  std::printf("%-24s %-18s %12.4f %12.4f\n", "TOTAL", "", total_forward / iterations,
              total_backward / iterations);
  std::printf("Average Forward-Backward: %.4f ms.\n", (total_forward + total_backward) / iterations);
  std::fflush(stdout);
  return 0;
}

int DeviceQuery() {
  if (CudaDeviceCount() == 0) {
    if (!FLAGS_gpu.empty()) ThrowError("--gpu=", FLAGS_gpu, ": no GPU is usable: ",
                                       CudaUnavailableReason());
    std::printf("GPUs: 0 (%s). Cortado runs on the CPU.\n", CudaUnavailableReason().c_str());
    return 0;
  }
  std::vector<int> ids;
  if (FLAGS_gpu.empty()) {
    for (int i = 0; i < CudaDeviceCount(); ++i) ids.push_back(i);
  } else {
    ids = ParseGpuIds();
  }
  for (int id : ids) std::printf("%s", DescribeCudaDevice(id).c_str());
  return 0;
}

int ListLayers() {
  for (const std::string& type : LayerRegistry::Types()) {
    const unsigned devices = LayerRegistry::Devices(type);
    std::string where;
    if (devices & kLayerCpu) where += "CPU";
    if (devices & kLayerCuda) where += where.empty() ? "CUDA" : ", CUDA";
    if (devices & kLayerCudnn) where += where.empty() ? "cuDNN" : ", cuDNN";
    const std::string origin = LayerOrigin(type);
    if (origin != "built-in") where += "  (plugin " + origin + ")";
    std::printf("%-28s %s\n", type.c_str(), where.c_str());
  }
  return 0;
}

// Removes every --plugin=PATH and --plugin PATH from the command line and
// returns the paths in order: every sub-command takes them, and gflags
// would keep only the last.
std::vector<std::string> TakePluginFlags(int* argc, char** argv) {
  std::vector<std::string> paths;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--plugin=", 0) == 0 || arg.rfind("-plugin=", 0) == 0) {
      paths.push_back(arg.substr(arg.find('=') + 1));
    } else if ((arg == "--plugin" || arg == "-plugin") && i + 1 < *argc) {
      paths.push_back(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  argv[kept] = nullptr;
  return paths;
}

const std::map<std::string, std::pair<int (*)(), const char*>>& Commands() {
  static const std::map<std::string, std::pair<int (*)(), const char*>> commands = {
      {"train", {Train, "train or finetune a model"}},
      {"test", {Test, "score a model"}},
      {"time", {Time, "benchmark model execution time"}},
      {"device_query", {DeviceQuery, "show GPU diagnostic information"}},
      {"export", {ExportCommand, "write a model's TEST net as ONNX (--onnx=out.onnx)"}},
      {"layers", {ListLayers, "list registered layer types and their devices"}},
      {"check", {RunCheckCommand, "build a net without running it: shapes, MACs, memory"}},
      {"deploy", {RunDeployCommand, "write a lean inference net with folded weights"}},
  };
  return commands;
}

}  // namespace
}  // namespace cortado

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  std::string usage = "command line brew\nusage: cortado <command> <args>\n\ncommands:\n";
  for (const auto& entry : cortado::Commands()) {
    usage += "  " + entry.first + std::string(14 - entry.first.size(), ' ') +
             entry.second.second + "\n";
  }
  usage += "  zoo           list, fetch or verify pretrained models (cortado zoo --help)\n";
  // The zoo has its own argument parser: hand it everything before gflags sees it.
  if (argc >= 2 && std::string(argv[1]) == "zoo") return cortado::RunZooCommand(argc, argv);
  gflags::SetUsageMessage(usage);
  gflags::SetVersionString(CORTADO_VERSION_STRING);
  const std::vector<std::string> plugins = cortado::TakePluginFlags(&argc, argv);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc != 2) {
    gflags::ShowUsageWithFlagsRestrict(argv[0], "tools/cortado");
    return 1;
  }
  if (FLAGS_threads < 0) {
    std::fprintf(stderr, "cortado: error: --threads=%d: give a positive count (0: the default)\n",
                 FLAGS_threads);
    return 1;
  }
  if (FLAGS_threads > 0) cortado::SetNumThreads(FLAGS_threads);
  auto it = cortado::Commands().find(argv[1]);
  if (it == cortado::Commands().end()) {
    std::fprintf(stderr, "cortado: unknown command '%s'\n%s", argv[1], usage.c_str());
    return 1;
  }
  using cortado::mpi_world;
  try {
    // Plugin layers join the registry before any net is built.
    cortado::LoadPluginsFromEnvironment();
    for (const std::string& path : plugins) cortado::LoadPlugin(path);
    // Several ranks from mpirun train data-parallel; only `train` can.
    if (cortado::MpiLaunchSize() > 1) {
      if (std::string(argv[1]) != "train") {
        cortado::ThrowError("under mpirun only 'train' runs (data-parallel); run '", argv[1],
                            "' as one process");
      }
      mpi_world = cortado::OpenMpiWorld();
      // Rank 0 alone logs; the others still report errors.
      if (mpi_world->rank() != 0) FLAGS_minloglevel = google::GLOG_ERROR;
    }
    const int status = it->second.first();
    mpi_world.reset();
    cortado::FinalizeMpi();
    return status;
  } catch (const cortado::Error& e) {
    // A rank that stops alone would leave the others waiting in a collective.
    if (mpi_world) cortado::AbortMpiJob(e.what());
    std::fprintf(stderr, "cortado: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    if (mpi_world) cortado::AbortMpiJob(std::string("internal error: ") + e.what());
    std::fprintf(stderr, "cortado: internal error: %s\n", e.what());
    return 2;
  }
}
