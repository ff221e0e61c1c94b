// SGD against its closed form, every lr policy, and bit-exact resume.
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "cortado/db.hpp"
#include "cortado/io.hpp"
#include "cortado/solver.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace {

// x (4x3) -> InnerProduct(2) -> SoftmaxWithLoss, inputs fixed by the test.
const char kTinyNet[] = R"(
  name: "tiny"
  layer { name: "in" type: "Input" top: "x" top: "label"
          input_param { shape { dim: 4 dim: 3 } shape { dim: 4 } } }
  layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
          param { lr_mult: 1 } param { lr_mult: 2 decay_mult: 0 }
          inner_product_param { num_output: 2
            weight_filler { type: "gaussian" std: 0.3 }
            bias_filler { type: "constant" value: 0.1 } } }
  layer { name: "loss" type: "SoftmaxWithLoss" bottom: "y" bottom: "label" top: "loss" }
)";

caffe::SolverParameter TinySolver(const std::string& extra) {
  caffe::SolverParameter param;
  ReadProtoFromTextString(extra, "test solver", &param);
  ReadProtoFromTextString(kTinyNet, "tiny net", param.mutable_net_param());
  if (!param.has_random_seed()) param.set_random_seed(5);
  return param;
}

const float kX[4][3] = {{0.5f, -1.f, 2.f}, {1.5f, 0.2f, -0.3f}, {-0.7f, 0.9f, 0.1f},
                        {0.f, 1.f, 1.f}};
const int kLabel[4] = {0, 1, 1, 0};

void SetInputs(Net* net) {
  float* x = net->blob_by_name("x")->mutable_cpu_data();
  std::memcpy(x, kX, sizeof(kX));
  float* label = net->blob_by_name("label")->mutable_cpu_data();
  for (int i = 0; i < 4; ++i) label[i] = float(kLabel[i]);
}

// Gradient of the mean softmax loss w.r.t. W (2x3) and b (2), by hand.
void ClosedFormGradient(const std::vector<double>& w, const std::vector<double>& b,
                        std::vector<double>* gw, std::vector<double>* gb) {
  gw->assign(6, 0);
  gb->assign(2, 0);
  for (int n = 0; n < 4; ++n) {
    double z[2];
    for (int k = 0; k < 2; ++k) {
      z[k] = b[k];
      for (int j = 0; j < 3; ++j) z[k] += w[k * 3 + j] * kX[n][j];
    }
    const double m = std::max(z[0], z[1]);
    const double e0 = std::exp(z[0] - m), e1 = std::exp(z[1] - m);
    const double p[2] = {e0 / (e0 + e1), e1 / (e0 + e1)};
    for (int k = 0; k < 2; ++k) {
      const double d = (p[k] - (kLabel[n] == k ? 1.0 : 0.0)) / 4.0;
      (*gb)[k] += d;
      for (int j = 0; j < 3; ++j) (*gw)[k * 3 + j] += d * kX[n][j];
    }
  }
}

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

// A little LMDB of 10 random 1x4x4 "images" with labels 0..2.
void MakeDataset(const std::string& path) {
  auto db = OpenDatabase(caffe::DataParameter::LMDB, path, Database::Mode::kNew);
  auto txn = db->NewTransaction();
  std::mt19937 rng(3);
  for (int i = 0; i < 10; ++i) {
    caffe::Datum datum;
    datum.set_channels(1);
    datum.set_height(4);
    datum.set_width(4);
    std::string pixels(16, '\0');
    for (char& p : pixels) p = static_cast<char>(rng() % 256);
    datum.set_data(pixels);
    datum.set_label(i % 3);
    char key[16];
    std::snprintf(key, sizeof(key), "%08d", i);
    txn->Put(key, datum.SerializeAsString());
  }
  txn->Commit();
}

caffe::SolverParameter LmdbSolver(const std::string& source, const std::string& prefix) {
  caffe::SolverParameter param;
  ReadProtoFromTextString(
      "base_lr: 0.05 momentum: 0.9 weight_decay: 0.001 lr_policy: \"inv\" gamma: 0.01 "
      "power: 0.75 max_iter: 10 random_seed: 11 snapshot_after_train: false",
      "solver", &param);
  param.set_snapshot_prefix(prefix);
  ReadProtoFromTextString(R"(
    layer { name: "data" type: "Data" top: "data" top: "label"
            transform_param { scale: 0.00390625 }
            data_param { source: ")" + source + R"(" batch_size: 3 backend: LMDB } }
    layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1"
            inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
    layer { name: "relu" type: "ReLU" bottom: "ip1" top: "ip1" }
    layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
            inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
  )", "net", param.mutable_net_param());
  return param;
}

std::vector<float> AllWeights(Net* net) {
  std::vector<float> out;
  for (const Blob* p : net->learnable_params()) {
    out.insert(out.end(), p->cpu_data(), p->cpu_data() + p->count());
  }
  return out;
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

TEST(SolverTest, LegacySolverTypeEnumIsUpgraded) {
  testing::TempDir dir;
  const std::string path = dir.File("solver.prototxt");
  WriteFileAtomically(path, "solver_type: SGD\nbase_lr: 0.1\n");
  caffe::SolverParameter param;
  ReadSolverParamsFromTextFile(path, &param);
  EXPECT_EQ(param.type(), "SGD");
  EXPECT_FALSE(param.has_solver_type());
}

}  // namespace
}  // namespace cortado
