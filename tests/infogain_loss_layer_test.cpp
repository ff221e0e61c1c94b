// Table rows, matrix-file and equivalence checks for the InfogainLoss layer.
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "cortado/io.hpp"
#include "loss_reference.hpp"
#include "temp_dir.hpp"

namespace cortado {
namespace testing {
namespace {

enum class Norm { kFull, kValid, kBatch, kNone };
constexpr int kNoIgnore = -1000;

// -sum_k H[label][k] log softmax(x)_k per prediction, normalised.
double NaiveInfogain(const Blob& scores, const Blob& labels, const Blob& h, int axis,
                     int ignore, Norm norm) {
  const int64_t outer = scores.count(0, axis);
  const int classes = scores.shape(axis);
  const int64_t inner = scores.count(axis + 1);
  const float* x = scores.cpu_data();
  double loss = 0;
  int64_t valid = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int label = int(labels.cpu_data()[o * inner + i]);
      if (label == ignore) continue;
      auto at = [&](int c) { return (o * classes + c) * inner + i; };
      double max = -1e300, sum = 0;
      for (int c = 0; c < classes; ++c) max = std::fmax(max, x[at(c)]);
      for (int c = 0; c < classes; ++c) sum += std::exp(x[at(c)] - max);
      for (int c = 0; c < classes; ++c) {
        const double p = std::exp(x[at(c)] - max) / sum;
        loss -= h.cpu_data()[label * classes + c] * std::log(std::fmax(p, 1e-20));
      }
      ++valid;
    }
  }
  double normalizer = 1;
  switch (norm) {
    case Norm::kFull: normalizer = double(outer * inner); break;
    case Norm::kValid: normalizer = double(valid); break;
    case Norm::kBatch: normalizer = double(outer); break;
    case Norm::kNone: normalizer = 1; break;
  }
  return loss / std::fmax(1.0, normalizer);
}

// Scores, labels in [0, classes) with every third one `ignore`, and a
// non-negative infogain matrix in the third bottom.
std::function<void(const BlobVec&)> InfogainFill(int classes, int ignore) {
  return [=](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 2, 71);
    FillLabels(bottom[1], classes, 72);
    if (ignore != kNoIgnore) {
      float* label = bottom[1]->mutable_cpu_data();
      for (int64_t i = 0; i < bottom[1]->count(); i += 3) label[i] = float(ignore);
    }
    FillUniform(bottom[2], 0, 1.5f, 73);
  };
}

LayerCase InfogainCase(const std::string& name, const std::string& params,
                       std::vector<int> scores, std::vector<int> labels, int axis, int ignore,
                       Norm norm, float loss_weight = 1) {
  const int classes = scores[axis];
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'InfogainLoss' " + params;
  c.bottom_shapes = {scores, labels, {classes, classes}};
  c.fill = InfogainFill(classes, ignore);
  c.reference = LossReference(
      [=](const BlobVec& b) { return NaiveInfogain(*b[0], *b[1], *b[2], axis, ignore, norm); },
      loss_weight);
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> InfogainLossCases() {
  std::vector<LayerCase> cases = {
      InfogainCase("Default", "", {5, 4}, {5}, 1, kNoIgnore, Norm::kValid),
      InfogainCase("Spatial", "", {2, 4, 3, 2}, {2, 1, 3, 2}, 1, kNoIgnore, Norm::kValid),
      InfogainCase("LastAxis", "infogain_loss_param { axis: -1 }", {2, 3, 5}, {2, 3}, 2,
                   kNoIgnore, Norm::kValid),
      InfogainCase("IgnoreValid", "loss_param { ignore_label: 1 }", {2, 3, 4}, {2, 4}, 1, 1,
                   Norm::kValid),
      InfogainCase("IgnoreFull", "loss_param { ignore_label: 1 normalization: FULL }",
                   {2, 3, 4}, {2, 4}, 1, 1, Norm::kFull),
      InfogainCase("BatchSize", "loss_param { normalization: BATCH_SIZE }", {3, 4, 2}, {3, 2},
                   1, kNoIgnore, Norm::kBatch),
      InfogainCase("NoNormalization", "loss_param { normalization: NONE }", {3, 4, 2}, {3, 2},
                   1, kNoIgnore, Norm::kNone),
      InfogainCase("LegacyNormalizeFalse", "loss_param { normalize: false }", {3, 4, 2},
                   {3, 2}, 1, kNoIgnore, Norm::kBatch),
      InfogainCase("LossWeight", "loss_weight: 1.5", {5, 4}, {5}, 1, kNoIgnore, Norm::kValid,
                   1.5f),
  };
  {
    // The probabilities top is an output only: no gradient flows from it.
    LayerCase c = InfogainCase("ProbabilityTop", "top: 'loss' top: 'prob'", {5, 4}, {5}, 1,
                               kNoIgnore, Norm::kValid);
    auto loss_check = c.reference;
    c.reference = [loss_check](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
      loss_check(layer, bottom, {top[0]});
      ASSERT_EQ(bottom[0]->shape(), top[1]->shape());
      for (int n = 0; n < 5; ++n) {
        double sum = 0;
        for (int c = 0; c < 4; ++c) sum += top[1]->cpu_data()[n * 4 + c];
        EXPECT_NEAR(1.0, sum, 1e-5) << "item " << n;
      }
    };
    c.check_gradient = false;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(InfogainLoss, LayerCaseTest, ::testing::ValuesIn(InfogainLossCases()),
                         LayerCaseName);

struct InfogainFixture {
  Blob scores{std::vector<int>{4, 3}};
  Blob labels{std::vector<int>{4}};
  Blob h{std::vector<int>{3, 3}};
  Blob loss;
  InfogainFixture() {
    FillGaussian(&scores, 0, 1, 79);
    FillLabels(&labels, 3, 80);
    FillUniform(&h, 0, 2, 81);
  }
};

// The matrix from infogain_loss_param.source gives the same loss and
// gradient as the same matrix passed as a third bottom.
TEST(InfogainLossLayerTest, SourceFileMatchesThirdBottom) {
  InfogainFixture f;
  TempDir dir;
  caffe::BlobProto proto;
  f.h.ToProto(&proto);
  WriteProtoToBinaryFile(proto, dir.File("infogain.binaryproto"));

  auto from_bottom = MakeLayer("name: 'l' type: 'InfogainLoss'");
  from_bottom->SetUp({&f.scores, &f.labels, &f.h}, {&f.loss});
  const float expected = from_bottom->Forward({&f.scores, &f.labels, &f.h}, {&f.loss});
  from_bottom->Backward({&f.loss}, {true, false, false}, {&f.scores, &f.labels, &f.h});
  const std::vector<float> expected_dx(f.scores.cpu_diff(), f.scores.cpu_diff() + 12);

  auto from_file = MakeLayer("name: 'l' type: 'InfogainLoss' infogain_loss_param { source: '" +
                             dir.File("infogain.binaryproto") + "' }");
  Blob loss;
  from_file->SetUp({&f.scores, &f.labels}, {&loss});
  EXPECT_FLOAT_EQ(expected, from_file->Forward({&f.scores, &f.labels}, {&loss}));
  std::fill_n(f.scores.mutable_cpu_diff(), 12, 0.f);
  from_file->Backward({&loss}, {true, false}, {&f.scores, &f.labels});
  for (int i = 0; i < 12; ++i) EXPECT_FLOAT_EQ(expected_dx[i], f.scores.cpu_diff()[i]) << i;
}

// With H = identity the infogain loss is the softmax loss.
TEST(InfogainLossLayerTest, IdentityMatrixIsSoftmaxWithLoss) {
  InfogainFixture f;
  std::fill_n(f.h.mutable_cpu_data(), 9, 0.f);
  for (int c = 0; c < 3; ++c) f.h.mutable_cpu_data()[c * 4] = 1;
  auto infogain = MakeLayer("name: 'l' type: 'InfogainLoss'");
  infogain->SetUp({&f.scores, &f.labels, &f.h}, {&f.loss});
  const float a = infogain->Forward({&f.scores, &f.labels, &f.h}, {&f.loss});
  Blob loss;
  auto softmax = MakeLayer("name: 'l' type: 'SoftmaxWithLoss'");
  softmax->SetUp({&f.scores, &f.labels}, {&loss});
  EXPECT_NEAR(softmax->Forward({&f.scores, &f.labels}, {&loss}), a, 1e-6);
}

TEST(InfogainLossLayerTest, BadInputsThrow) {
  InfogainFixture f;
  auto no_matrix = MakeLayer("name: 'l' type: 'InfogainLoss'");
  EXPECT_THROW(no_matrix->SetUp({&f.scores, &f.labels}, {&f.loss}), Error);
  auto missing_file = MakeLayer(
      "name: 'l' type: 'InfogainLoss' infogain_loss_param { source: '/nonexistent/h.bin' }");
  EXPECT_THROW(missing_file->SetUp({&f.scores, &f.labels}, {&f.loss}), Error);
  Blob wrong_h({2, 2});
  auto wrong = MakeLayer("name: 'l' type: 'InfogainLoss'");
  EXPECT_THROW(wrong->SetUp({&f.scores, &f.labels, &wrong_h}, {&f.loss}), Error);
  auto labels = MakeLayer("name: 'l' type: 'InfogainLoss'");
  labels->SetUp({&f.scores, &f.labels, &f.h}, {&f.loss});
  f.labels.mutable_cpu_data()[0] = 3;
  EXPECT_THROW(labels->Forward({&f.scores, &f.labels, &f.h}, {&f.loss}), Error);
  EXPECT_TRUE(labels->AllowForceBackward(0));
  EXPECT_FALSE(labels->AllowForceBackward(1));
  EXPECT_FALSE(labels->AllowForceBackward(2));
}

}  // namespace
}  // namespace testing
}  // namespace cortado
