// SGD against its closed form, every lr policy, and bit-exact resume.
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "cortado/db.hpp"
#include "cortado/io.hpp"
#include "cortado/solver.hpp"
#include "solver_fixtures.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

using namespace cortado::testing;  // NOLINT: the shared solver fixtures

TEST(SgdSolverTest, StepsMatchTheClosedForm) {
  const double lr = 0.1, momentum = 0.9, decay = 0.01;
  auto solver = CreateSolver(TinySolver(
      "base_lr: 0.1 momentum: 0.9 weight_decay: 0.01 lr_policy: \"fixed\" max_iter: 10"));
  SetInputs(solver->net());
  const Layer* ip = solver->net()->layer_by_name("ip");
  std::vector<double> w(ip->blobs()[0]->cpu_data(), ip->blobs()[0]->cpu_data() + 6);
  std::vector<double> b(ip->blobs()[1]->cpu_data(), ip->blobs()[1]->cpu_data() + 2);
  std::vector<double> vw(6, 0), vb(2, 0), gw, gb;
  for (int step = 0; step < 3; ++step) {
    ClosedFormGradient(w, b, &gw, &gb);
    for (int i = 0; i < 6; ++i) {
      vw[i] = momentum * vw[i] + lr * (gw[i] + decay * w[i]);
      w[i] -= vw[i];
    }
    for (int i = 0; i < 2; ++i) {  // bias: lr_mult 2, decay_mult 0
      vb[i] = momentum * vb[i] + 2 * lr * gb[i];
      b[i] -= vb[i];
    }
    solver->Step(1);
    for (int i = 0; i < 6; ++i) EXPECT_NEAR(ip->blobs()[0]->cpu_data()[i], w[i], 1e-5);
    for (int i = 0; i < 2; ++i) EXPECT_NEAR(ip->blobs()[1]->cpu_data()[i], b[i], 1e-5);
  }
  EXPECT_EQ(solver->iter(), 3);
}

TEST(SgdSolverTest, IterSizeAveragesAndL1DecayUsesTheSign) {
  auto solver = CreateSolver(TinySolver(
      "base_lr: 0.5 weight_decay: 0.1 regularization_type: \"L1\" iter_size: 3 "
      "lr_policy: \"fixed\" max_iter: 1"));
  SetInputs(solver->net());
  const Layer* ip = solver->net()->layer_by_name("ip");
  std::vector<double> w(ip->blobs()[0]->cpu_data(), ip->blobs()[0]->cpu_data() + 6);
  std::vector<double> b(ip->blobs()[1]->cpu_data(), ip->blobs()[1]->cpu_data() + 2);
  std::vector<double> gw, gb;
  ClosedFormGradient(w, b, &gw, &gb);
  solver->Step(1);
  for (int i = 0; i < 6; ++i) {
    const double sign = (w[i] > 0) - (w[i] < 0);
    EXPECT_NEAR(ip->blobs()[0]->cpu_data()[i], w[i] - 0.5 * (gw[i] + 0.1 * sign), 1e-5);
  }
}

TEST(SgdSolverTest, ClipGradientsBoundsTheNorm) {
  auto solver = CreateSolver(TinySolver(
      "base_lr: 1 clip_gradients: 0.01 lr_policy: \"fixed\" max_iter: 1"));
  SetInputs(solver->net());
  const Layer* ip = solver->net()->layer_by_name("ip");
  std::vector<float> before(ip->blobs()[0]->cpu_data(), ip->blobs()[0]->cpu_data() + 6);
  std::vector<float> bias_before(ip->blobs()[1]->cpu_data(), ip->blobs()[1]->cpu_data() + 2);
  solver->Step(1);
  // The step is lr * clipped gradient, with the bias's lr_mult of 2.
  double sq = 0;
  for (int i = 0; i < 6; ++i) sq += std::pow(ip->blobs()[0]->cpu_data()[i] - before[i], 2);
  for (int i = 0; i < 2; ++i) {
    sq += std::pow((ip->blobs()[1]->cpu_data()[i] - bias_before[i]) / 2, 2);
  }
  EXPECT_NEAR(std::sqrt(sq), 0.01, 1e-4);
}

struct PolicyCase {
  const char* params;
  std::function<double(int)> expected;
};

TEST(SolverTest, LearningRatePolicies) {
  const double base = 0.01;
  const std::vector<PolicyCase> cases = {
      {"lr_policy: \"fixed\"", [&](int) { return base; }},
      {"lr_policy: \"step\" gamma: 0.5 stepsize: 4",
       [&](int it) { return base * std::pow(0.5, it / 4); }},
      {"lr_policy: \"exp\" gamma: 0.9", [&](int it) { return base * std::pow(0.9, it); }},
      {"lr_policy: \"inv\" gamma: 0.0001 power: 0.75",
       [&](int it) { return base * std::pow(1 + 0.0001 * it, -0.75); }},
      {"lr_policy: \"multistep\" gamma: 0.1 stepvalue: 3 stepvalue: 7",
       [&](int it) { return base * std::pow(0.1, (it >= 3) + (it >= 7)); }},
      {"lr_policy: \"poly\" power: 2",
       [&](int it) { return base * std::pow(1 - it / 12.0, 2); }},
      {"lr_policy: \"sigmoid\" gamma: -0.5 stepsize: 5",
       [&](int it) { return base / (1 + std::exp(0.5 * (it - 5))); }},
  };
  for (const PolicyCase& c : cases) {
    auto solver = CreateSolver(TinySolver(std::string("base_lr: 0.01 max_iter: 12 ") + c.params));
    SetInputs(solver->net());
    for (int it = 0; it < 10; ++it) {
      EXPECT_NEAR(solver->GetLearningRate(), c.expected(it), 1e-6 * c.expected(it)) << c.params << " at " << it;
      solver->Step(1);
    }
  }
  auto bad = CreateSolver(TinySolver("lr_policy: \"cosine\""));
  EXPECT_THROW(bad->GetLearningRate(), Error);
}

TEST(SolverTest, SnapshotThenResumeIsBitExact) {
  testing::TempDir dir;
  const std::string source = dir.File("train_lmdb");
  MakeDataset(source);
  const std::string prefix = dir.File("run");

  auto straight = CreateSolver(LmdbSolver(source, dir.File("straight")));
  straight->Step(10);
  const std::vector<float> expected = AllWeights(straight->net());

  std::string state_file;
  {
    auto first = CreateSolver(LmdbSolver(source, prefix));
    first->Step(4);
    first->Snapshot();
    state_file = prefix + "_iter_4.solverstate";
    ASSERT_TRUE(FileExists(prefix + "_iter_4.caffemodel"));
    ASSERT_TRUE(FileExists(state_file));
    EXPECT_FALSE(FileExists(state_file + ".tmp"));
  }
  caffe::SolverParameter param = LmdbSolver(source, prefix);
  param.set_random_seed(999);  // the restored weights must win over fresh fills
  auto resumed = CreateSolver(param);
  resumed->Restore(state_file);
  EXPECT_EQ(resumed->iter(), 4);
  resumed->Step(6);
  const std::vector<float> actual = AllWeights(resumed->net());
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(std::memcmp(&actual[i], &expected[i], sizeof(float)), 0)
        << "weight " << i << ": " << actual[i] << " vs " << expected[i];
  }
}

TEST(SolverTest, TestNetsShareTrainedWeightsAndReportScores) {
  testing::TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  caffe::SolverParameter param = LmdbSolver(source, dir.File("x"));
  param.add_test_iter(2);
  param.set_test_interval(1000);
  auto solver = CreateSolver(param);
  ASSERT_EQ(solver->test_nets().size(), 1u);
  Net* test = solver->test_nets()[0].get();
  EXPECT_EQ(test->phase(), caffe::TEST);
  EXPECT_EQ(test->layer_by_name("ip1")->blobs()[0]->cpu_data(),
            solver->net()->layer_by_name("ip1")->blobs()[0]->cpu_data());
  auto scores = solver->TestAll();
  ASSERT_EQ(scores.size(), 1u);
  ASSERT_EQ(scores[0].size(), 1u);  // the loss
  EXPECT_GT(scores[0][0], 0.f);
}

TEST(SolverTest, NonFiniteLossStopsWithTheLayerNamed) {
  auto solver = CreateSolver(TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 10"));
  SetInputs(solver->net());
  solver->net()->blob_by_name("x")->mutable_cpu_data()[4] = std::nanf("");
  try {
    solver->Step(10);
    FAIL() << "expected the NaN guard to fire";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("iteration"), std::string::npos) << what;
    EXPECT_NE(what.find("layer 'in' (Input)"), std::string::npos) << what;
  }
}

TEST(SolverTest, SnapshotAfterTrainWritesTheFinalState) {
  TempDir dir;
  const std::string source = dir.File("lmdb");
  MakeDataset(source);
  caffe::SolverParameter param = LmdbSolver(source, dir.File("on"));
  param.set_max_iter(3);
  param.set_snapshot_after_train(true);
  CreateSolver(param)->Solve();
  EXPECT_TRUE(FileExists(dir.File("on_iter_3.caffemodel")));
  EXPECT_TRUE(FileExists(dir.File("on_iter_3.solverstate")));
  param.set_snapshot_prefix(dir.File("off"));
  param.set_snapshot_after_train(false);
  CreateSolver(param)->Solve();
  EXPECT_FALSE(FileExists(dir.File("off_iter_3.caffemodel")));
}

// A missing snapshot folder was found only at the first snapshot.
TEST(SolverTest, MissingSnapshotFolderIsReportedBeforeTraining) {
  TempDir dir;
  caffe::SolverParameter param =
      TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 4 snapshot: 2");
  param.set_snapshot_prefix(dir.File("no/such/folder/tiny"));
  auto solver = CreateSolver(param);
  SetInputs(solver->net());
  try {
    solver->Solve();
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the folder '" + dir.File("no/such/folder") +
                                         "' does not exist"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(solver->iter(), 0);
}

// kill -9 during a snapshot left prefix_iter_N.*.tmp files; the next run
// removes those, and only those.
TEST(SolverTest, StaleSnapshotTemporariesAreRemovedAtStart) {
  TempDir dir;
  const std::vector<std::string> stale = {"tiny_iter_2.caffemodel.tmp",
                                          "tiny_iter_2.solverstate.tmp",
                                          "tiny_iter_10.caffemodel.h5.tmp",
                                          "tiny_iter_10.solverstate.h5.tmp"};
  const std::vector<std::string> kept = {"tiny_iter_2.caffemodel", "other_iter_2.caffemodel.tmp",
                                         "tiny_iter_x.caffemodel.tmp", "tinyy_iter_2.solverstate.tmp",
                                         "notes.tmp"};
  for (const auto& name : stale) WriteFileAtomically(dir.File(name), "partial");
  for (const auto& name : kept) WriteFileAtomically(dir.File(name), "keep");
  caffe::SolverParameter param =
      TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 1");
  param.set_snapshot_prefix(dir.File("tiny"));
  auto solver = CreateSolver(param);
  SetInputs(solver->net());
  solver->Solve();
  for (const auto& name : stale) EXPECT_FALSE(FileExists(dir.File(name))) << name;
  for (const auto& name : kept) EXPECT_TRUE(FileExists(dir.File(name))) << name;
}

TEST(SolverTest, NonFiniteLossKeepsTheLastGoodSnapshot) {
  TempDir dir;
  caffe::SolverParameter param =
      TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 10 snapshot: 2");
  param.set_snapshot_prefix(dir.File("tiny"));
  auto solver = CreateSolver(param);
  SetInputs(solver->net());
  solver->Step(5);
  ASSERT_TRUE(FileExists(dir.File("tiny_iter_4.caffemodel")));
  caffe::NetParameter good;
  ReadProtoFromBinaryFile(dir.File("tiny_iter_4.caffemodel"), &good);
  solver->net()->blob_by_name("x")->mutable_cpu_data()[0] = INFINITY;
  try {
    solver->Step(5);
    FAIL() << "expected the non-finite guard to fire";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("iteration 5"), std::string::npos) << what;
    EXPECT_NE(what.find("last good snapshot is " + dir.File("tiny_iter_4.caffemodel")),
              std::string::npos)
        << what;
  }
  EXPECT_EQ(solver->iter(), 5);
  EXPECT_FALSE(FileExists(dir.File("tiny_iter_6.caffemodel")));
  // The snapshot on disk is untouched and finite; so are the weights in memory.
  caffe::NetParameter after;
  ReadProtoFromBinaryFile(dir.File("tiny_iter_4.caffemodel"), &after);
  EXPECT_EQ(after.SerializeAsString(), good.SerializeAsString());
  for (float w : AllWeights(solver->net())) EXPECT_TRUE(std::isfinite(w));
}

TEST(SolverTest, SnapshotPrefixDefaultsToTheSolverFile) {
  TempDir dir;
  const std::string path = dir.File("my_solver.prototxt");
  WriteFileAtomically(path, "base_lr: 0.1\n");
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(path, &param);
  EXPECT_EQ(param.snapshot_prefix(), dir.File("my_solver"));
  WriteFileAtomically(path, "snapshot_prefix: \"" + dir.path().string() + "\"\n");
  ReadSolverParamsFromTextFile(path, &param);
  EXPECT_EQ(param.snapshot_prefix(), dir.File("my_solver"));
}

TEST(SolverTest, LegacySolverTypeEnumIsUpgraded) {
  testing::TempDir dir;
  const std::string path = dir.File("solver.prototxt");
  WriteFileAtomically(path, "solver_type: SGD\nbase_lr: 0.1\n");
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(path, &param);
  EXPECT_EQ(param.type(), "SGD");
  EXPECT_FALSE(param.has_solver_type());
}

// Trains an LMDB solver for one step, snapshots it and returns the
// .solverstate path: the starting point of the resume-from-bad-state tests.
std::string SnapshotAfterOneStep(const std::string& source, const std::string& prefix) {
  MakeDataset(source);
  auto first = CreateSolver(LmdbSolver(source, prefix));
  first->Step(1);
  first->Snapshot();
  return prefix + "_iter_1.solverstate";
}

// A solverstate's data_records_consumed was added to the start record
// unchecked: near 2^63 the sum overflowed (undefined behaviour).
TEST(SolverTest, OutOfRangeDataRecordsConsumedIsAnError) {
  testing::TempDir dir;
  const std::string source = dir.File("train_lmdb");
  const std::string prefix = dir.File("run");
  const std::string state_file = SnapshotAfterOneStep(source, prefix);
  caffe::SolverState state;
  ReadProtoFromBinaryFile(state_file, &state);
  ASSERT_EQ(state.data_records_consumed_size(), 1);
  for (int64_t records : {std::numeric_limits<int64_t>::max() - 1, int64_t{-5}}) {
    state.set_data_records_consumed(0, records);
    WriteProtoToBinaryFile(state, state_file);
    auto resumed = CreateSolver(LmdbSolver(source, prefix));
    try {
      resumed->Restore(state_file);
      FAIL() << "expected an Error for " << records;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(state_file), std::string::npos) << what;
      EXPECT_NE(what.find("data_records_consumed 0 (layer 'data') is " + std::to_string(records)),
                std::string::npos) << what;
    }
  }
  // A large but valid count wraps around the epoch.
  state.set_data_records_consumed(0, int64_t{1} << 62);
  WriteProtoToBinaryFile(state, state_file);
  auto resumed = CreateSolver(LmdbSolver(source, prefix));
  resumed->Restore(state_file);
  resumed->Step(1);
}

// The bad-input campaign: a solverstate with iter -1 trained one step past
// max_iter, and iter INT_MIN overflowed the count of steps left.
TEST(SolverTest, NegativeIterationInStateIsAnError) {
  testing::TempDir dir;
  const std::string source = dir.File("train_lmdb");
  const std::string prefix = dir.File("run");
  const std::string state_file = SnapshotAfterOneStep(source, prefix);
  caffe::SolverState state;
  ReadProtoFromBinaryFile(state_file, &state);
  for (int iter : {-1, std::numeric_limits<int>::min()}) {
    state.set_iter(iter);
    WriteProtoToBinaryFile(state, state_file);
    auto resumed = CreateSolver(LmdbSolver(source, prefix));
    try {
      resumed->Restore(state_file);
      FAIL() << "expected an Error for iter " << iter;
    } catch (const Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(state_file + ": iter is " + std::to_string(iter)), std::string::npos)
          << what;
    }
  }
}

TEST(SolverTest, CallbacksRunEveryIterationAroundTheGradients) {
  auto solver = CreateSolver(TinySolver("base_lr: 0.1 lr_policy: \"fixed\" max_iter: 10"));
  SetInputs(solver->net());
  const Blob* weights = solver->net()->layer_by_name("ip")->blobs()[0].get();
  std::vector<std::string> events;
  std::vector<float> weight_at_gradients;
  Solver::Callback callback;
  callback.on_start = [&] { events.push_back(StrCat("start", solver->iter())); };
  callback.on_gradients_ready = [&] {
    events.push_back(StrCat("gradients", solver->iter()));
    // Gradients are computed, the update is still to come.
    EXPECT_NE(weights->cpu_diff()[0], 0.f);
    weight_at_gradients.push_back(weights->cpu_data()[0]);
  };
  solver->add_callback(callback);
  solver->add_callback({nullptr, [&] { events.push_back("second"); }});
  const float initial = weights->cpu_data()[0];
  solver->Step(2);
  EXPECT_EQ(events, (std::vector<std::string>{"start0", "gradients0", "second", "start1",
                                              "gradients1", "second"}));
  ASSERT_EQ(weight_at_gradients.size(), 2u);
  EXPECT_EQ(weight_at_gradients[0], initial);
  EXPECT_NE(weight_at_gradients[1], initial);
}

}  // namespace
}  // namespace cortado
