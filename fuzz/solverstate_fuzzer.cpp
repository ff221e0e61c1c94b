// Fuzzes the .solverstate loader of every solver type: any bytes must either
// restore the solver or be rejected with an Error.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "caffe.pb.h"
#include "cortado/common.hpp"
#include "cortado/io.hpp"
#include "cortado/solver.hpp"
#include "fuzz_common.hpp"

namespace cortado {
namespace fuzz {
namespace {

constexpr char kSolver[] = R"(
base_lr: 0.01 max_iter: 10 lr_policy: "fixed" snapshot_prefix: "/nonexistent/fuzz"
net_param {
  layer { name: "data" type: "DummyData" top: "data" top: "label"
          dummy_data_param { shape { dim: 2 dim: 4 } shape { dim: 2 }
                             data_filler { type: "gaussian" } } }
  layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
          inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
  layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" top: "loss" }
})";

const std::vector<std::string> kTypes = {"SGD",     "Nesterov", "AdaGrad",
                                         "RMSProp", "AdaDelta", "Adam"};

// One solver per type, built once; the first input byte picks which.
Solver& SolverOfType(size_t index) {
  static std::vector<std::unique_ptr<Solver>> solvers = [] {
    std::vector<std::unique_ptr<Solver>> built;
    for (const std::string& type : kTypes) {
      caffe::SolverParameter param;
      ReadProtoFromTextString(kSolver, "solverstate_fuzzer", &param);
      param.set_type(type);
      if (type == "SGD" || type == "Nesterov" || type == "Adam") param.set_momentum(0.9f);
      built.push_back(CreateSolver(param));
    }
    return built;
  }();
  return *solvers[index % solvers.size()];
}

}  // namespace

std::string ValidSeed() {
  // Shaped like the state an Adam solver saves after one step: two history
  // blobs per learnable parameter.
  Solver& solver = SolverOfType(5);
  solver.Step(1);
  caffe::SolverState state;
  state.set_iter(solver.iter());
  state.set_current_step(0);
  for (const Blob* param : solver.net()->learnable_params()) {
    for (int copy = 0; copy < 2; ++copy) param->ToProto(state.add_history());
  }
  return std::string(1, '\5') + state.SerializeAsString();
}

}  // namespace fuzz
}  // namespace cortado

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // A learned_net names a caffemodel to read, which could be any path on
  // this machine (/dev/stdin blocks): the caffemodel target covers that load.
  caffe::SolverState state;
  if (state.ParseFromArray(data + 1, static_cast<int>(size - 1)) && state.has_learned_net()) {
    return 0;
  }
  const std::string& path =
      cortado::fuzz::WriteScratchFile(data + 1, size - 1, ".solverstate");
  try {
    cortado::fuzz::SolverOfType(data[0]).Restore(path);
  } catch (const cortado::Error&) {
  }
  return 0;
}
