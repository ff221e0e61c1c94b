// Every solver's update rule against its closed form, the legacy solver_type
// enum, bad hyper-parameters, and bit-exact resume for each solver.
#include <cmath>
#include <cstring>
#include <functional>

#include <gtest/gtest.h>

#include "cortado/io.hpp"
#include "cortado/solver.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using namespace cortado::testing;  // NOLINT: the shared solver fixtures

// One element's update in double precision: takes the regularised gradient
// g, the local rate, t = iter + 1 and that element's two history slots;
// returns what is subtracted from the weight.
using ElementRule = std::function<double(double g, double lr, int t, double* s1, double* s2)>;

struct RuleCase {
  const char* type;
  const char* params;  // hyper-parameters besides type, base_lr and weight_decay
  ElementRule rule;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const RuleCase& c, std::ostream* os) { *os << c.type; }

const double kLr = 0.1;

std::vector<RuleCase> RuleCases() {
  return {
      {"SGD", "momentum: 0.9",
       [](double g, double lr, int, double* v, double*) { return *v = 0.9 * *v + lr * g; }},
      {"Nesterov", "momentum: 0.9",
       [](double g, double lr, int, double* v, double*) {
         const double previous = *v;
         *v = 0.9 * *v + lr * g;
         return 1.9 * *v - 0.9 * previous;
       }},
      {"AdaGrad", "delta: 1e-6",
       [](double g, double lr, int, double* h, double*) {
         *h += g * g;
         return lr * g / (std::sqrt(*h) + 1e-6);
       }},
      {"RMSProp", "rms_decay: 0.9 delta: 1e-6",
       [](double g, double lr, int, double* h, double*) {
         *h = 0.9 * *h + 0.1 * g * g;
         return lr * g / (std::sqrt(*h) + 1e-6);
       }},
      {"AdaDelta", "momentum: 0.95 delta: 1e-6",
       [](double g, double lr, int, double* a, double* b) {
         *a = 0.95 * *a + 0.05 * g * g;
         const double u = g * std::sqrt((*b + 1e-6) / (*a + 1e-6));
         *b = 0.95 * *b + 0.05 * u * u;
         return lr * u;
       }},
      {"Adam", "momentum: 0.9 momentum2: 0.999 delta: 1e-8",
       [](double g, double lr, int t, double* m, double* v) {
         *m = 0.9 * *m + 0.1 * g;
         *v = 0.999 * *v + 0.001 * g * g;
         const double correction = std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
         return lr * correction * *m / (std::sqrt(*v) + 1e-8);
       }},
  };
}

class UpdateRuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(UpdateRuleTest, FourStepsMatchTheClosedForm) {
  const RuleCase& c = GetParam();
  auto solver = CreateSolver(TinySolver(StrCat("type: \"", c.type, "\" base_lr: ", kLr,
                                               " weight_decay: 0.01 lr_policy: \"fixed\" "
                                               "max_iter: 10 ",
                                               c.params)));
  EXPECT_STREQ(solver->type(), c.type);
  SetInputs(solver->net());
  const Layer* ip = solver->net()->layer_by_name("ip");
  std::vector<double> w(ip->blobs()[0]->cpu_data(), ip->blobs()[0]->cpu_data() + 6);
  std::vector<double> b(ip->blobs()[1]->cpu_data(), ip->blobs()[1]->cpu_data() + 2);
  std::vector<double> w1(6, 0), w2(6, 0), b1(2, 0), b2(2, 0), gw, gb;
  for (int step = 0; step < 4; ++step) {
    ClosedFormGradient(w, b, &gw, &gb);
    const int t = step + 1;
    for (int i = 0; i < 6; ++i) w[i] -= c.rule(gw[i] + 0.01 * w[i], kLr, t, &w1[i], &w2[i]);
    // The bias has lr_mult 2 and decay_mult 0.
    for (int i = 0; i < 2; ++i) b[i] -= c.rule(gb[i], 2 * kLr, t, &b1[i], &b2[i]);
    solver->Step(1);
    for (int i = 0; i < 6; ++i) {
      EXPECT_NEAR(ip->blobs()[0]->cpu_data()[i], w[i], 2e-5) << c.type << " step " << t;
    }
    for (int i = 0; i < 2; ++i) {
      EXPECT_NEAR(ip->blobs()[1]->cpu_data()[i], b[i], 2e-5) << c.type << " step " << t;
    }
  }
}

// On the CPU the solver folds iter_size's scaling, an L2 decay and the weight
// update into the rule's pass over each parameter; debug_info, which logs
// between those steps, keeps them as separate passes. The two must give the
// same bits, for L2 and for L1 (which stays a pass of its own).
TEST_P(UpdateRuleTest, OnePassUpdateMatchesSeparatePassesBitForBit) {
  const RuleCase& c = GetParam();
  for (const char* regularization : {"L2", "L1"}) {
    auto make = [&](bool separate_passes) {
      auto solver = CreateSolver(TinySolver(StrCat(
          "type: \"", c.type, "\" base_lr: ", kLr, " weight_decay: 0.01 regularization_type: \"",
          regularization, "\" iter_size: 2 lr_policy: \"fixed\" max_iter: 10 display: 1 ",
          "debug_info: ", separate_passes ? "true " : "false ", c.params)));
      SetInputs(solver->net());
      return solver;
    };
    auto one_pass = make(false), separate = make(true);
    for (int step = 0; step < 3; ++step) {
      one_pass->Step(1);
      separate->Step(1);
    }
    const auto& params = one_pass->net()->learnable_params();
    const auto& reference = separate->net()->learnable_params();
    ASSERT_EQ(params.size(), reference.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const size_t bytes = params[i]->count() * sizeof(float);
      EXPECT_EQ(std::memcmp(params[i]->cpu_data(), reference[i]->cpu_data(), bytes), 0)
          << c.type << " " << regularization << ": parameter " << i << "'s weights";
      EXPECT_EQ(std::memcmp(params[i]->cpu_diff(), reference[i]->cpu_diff(), bytes), 0)
          << c.type << " " << regularization << ": parameter " << i << "'s step";
    }
    EXPECT_NE(AllWeights(one_pass->net()), AllWeights(make(false)->net())) << "nothing trained";
  }
}

// Resuming from a snapshot taken after 4 of 10 iterations gives exactly the
// weights of an uninterrupted run: history, iteration and data position all
// come back.
TEST_P(UpdateRuleTest, ResumeIsBitExact) {
  const RuleCase& c = GetParam();
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  auto make = [&](const std::string& prefix, int seed) {
    caffe::SolverParameter param = LmdbSolver(source, prefix);
    param.clear_momentum();
    caffe::SolverParameter rule;
    ReadProtoFromTextString(StrCat("type: \"", c.type, "\" ", c.params), "rule", &rule);
    param.MergeFrom(rule);
    param.set_random_seed(seed);
    return CreateSolver(param);
  };
  auto straight = make(dir.File("straight"), 11);
  straight->Step(10);
  const std::vector<float> expected = AllWeights(straight->net());
  {
    auto first = make(dir.File("run"), 11);
    first->Step(4);
    first->Snapshot();
  }
  auto resumed = make(dir.File("run"), 999);
  resumed->Restore(dir.File("run_iter_4.solverstate"));
  resumed->Step(6);
  const std::vector<float> actual = AllWeights(resumed->net());
  ASSERT_EQ(actual.size(), expected.size());
  EXPECT_EQ(std::memcmp(actual.data(), expected.data(), actual.size() * sizeof(float)), 0)
      << c.type << ": resumed weights differ from the uninterrupted run";
  EXPECT_NE(actual, AllWeights(make(dir.File("fresh"), 11)->net())) << "training changed nothing";
}

INSTANTIATE_TEST_SUITE_P(AllSolvers, UpdateRuleTest, ::testing::ValuesIn(RuleCases()),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           return std::string(info.param.type);
                         });

TEST(UpdateRuleTest, SolverStateKeepsBothHistorySetsForAdamAndAdaDelta) {
  TempDir dir;
  for (const char* type : {"SGD", "Adam", "AdaDelta"}) {
    caffe::SolverParameter param = TinySolver(StrCat("type: \"", type, "\" base_lr: 0.1 lr_policy: \"fixed\""));
    param.set_snapshot_prefix(dir.File(type));
    auto solver = CreateSolver(param);
    SetInputs(solver->net());
    solver->Step(1);
    solver->Snapshot();
    caffe::SolverState state;
    ReadProtoFromBinaryFile(dir.File(StrCat(type, "_iter_1.solverstate")), &state);
    EXPECT_EQ(state.history_size(), std::string(type) == "SGD" ? 2 : 4) << type;
    // An SGD state cannot resume an Adam solver: the history count differs.
    if (std::string(type) == "Adam") {
      caffe::SolverParameter sgd = TinySolver("type: \"SGD\"");
      auto other = CreateSolver(sgd);
      EXPECT_THROW(other->Restore(dir.File("Adam_iter_1.solverstate")), Error);
    }
  }
}

TEST(UpdateRuleTest, LegacySolverTypeEnumSelectsTheSolver) {
  TempDir dir;
  const std::pair<const char*, const char*> legacy[] = {
      {"NESTEROV", "Nesterov"}, {"ADAGRAD", "AdaGrad"}, {"RMSPROP", "RMSProp"},
      {"ADADELTA", "AdaDelta"}, {"ADAM", "Adam"}};
  for (const auto& [enum_name, type] : legacy) {
    const std::string path = dir.File(StrCat(enum_name, ".prototxt"));
    WriteFileAtomically(path, StrCat("solver_type: ", enum_name, "\nbase_lr: 0.1\n"));
    caffe::SolverParameter param;
    ReadSolverParamsFromTextFile(path, &param);
    ReadProtoFromTextString(kTinyNet, "tiny net", param.mutable_net_param());
    EXPECT_STREQ(CreateSolver(param)->type(), type);
  }
}

TEST(UpdateRuleTest, BadHyperParametersAreErrors) {
  EXPECT_THROW(CreateSolver(TinySolver("type: \"AdaGrad\" momentum: 0.9")), Error);
  EXPECT_THROW(CreateSolver(TinySolver("type: \"RMSProp\" momentum: 0.9")), Error);
  EXPECT_THROW(CreateSolver(TinySolver("type: \"RMSProp\" rms_decay: 1.5")), Error);
  try {
    CreateSolver(TinySolver("type: \"Adamax\""));
    FAIL() << "expected an unknown-type error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known: AdaDelta, AdaGrad, Adam"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cortado
