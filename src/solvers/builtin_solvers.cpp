// The explicit list of built-in solver types, keyed by SolverParameter.type.
#include <utility>

#include "sgd_solver.hpp"

namespace cortado {
namespace {

using SolverFactory = std::unique_ptr<Solver> (*)(const caffe::SolverParameter&);

// Alphabetical; the names are the `type` strings of BVLC Caffe.
const std::pair<const char*, SolverFactory> kSolvers[] = {
    {"AdaDelta", NewAdaDeltaSolver}, {"AdaGrad", NewAdaGradSolver},
    {"Adam", NewAdamSolver},         {"Nesterov", NewNesterovSolver},
    {"RMSProp", NewRmsPropSolver},   {"SGD", NewSgdSolver},
};

}  // namespace

std::unique_ptr<Solver> CreateSolver(const caffe::SolverParameter& param) {
  std::string known;
  for (const auto& [name, factory] : kSolvers) {
    if (param.type() == name) return factory(param);
    known += known.empty() ? name : StrCat(", ", name);
  }
  ThrowError("solver: unknown solver type \"", param.type(), "\" (known: ", known, ")");
}

}  // namespace cortado
