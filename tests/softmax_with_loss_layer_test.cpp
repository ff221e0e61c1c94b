// Table rows and error checks for the SoftmaxWithLoss layer.
#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "cortado/io.hpp"
#include "cortado/layer.hpp"
#include "cortado/net.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

constexpr int kNoIgnore = -1000;

enum class Norm { kFull, kValid, kBatch, kNone };

// Naive loss: per prediction, -log of its softmax probability of the label.
// Also returns the probabilities (for the optional second top).
double NaiveLoss(const Blob& scores, const Blob& labels, int axis, int ignore, Norm norm,
                 std::vector<float>* probs) {
  const int64_t outer = scores.count(0, axis);
  const int classes = scores.shape(axis);
  const int64_t inner = scores.count(axis + 1);
  const float* x = scores.cpu_data();
  probs->assign(scores.count(), 0.f);
  double loss = 0;
  int64_t valid = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int c) { return (o * classes + c) * inner + i; };
      double max = -1e300;
      for (int c = 0; c < classes; ++c) max = std::fmax(max, x[at(c)]);
      double sum = 0;
      for (int c = 0; c < classes; ++c) sum += std::exp(x[at(c)] - max);
      for (int c = 0; c < classes; ++c) {
        (*probs)[at(c)] = static_cast<float>(std::exp(x[at(c)] - max) / sum);
      }
      const int label = static_cast<int>(labels.cpu_data()[o * inner + i]);
      if (label == ignore) continue;
      loss -= std::log(std::fmax((*probs)[at(label)], FLT_MIN));
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

std::function<void(Layer*, const BlobVec&, const BlobVec&)> LossReference(
    int axis, int ignore, Norm norm, float loss_weight = 1) {
  return [=](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    std::vector<float> probs;
    const double loss = NaiveLoss(*bottom[0], *bottom[1], axis, ignore, norm, &probs);
    ASSERT_EQ(top[0]->count(), 1);
    EXPECT_EQ(top[0]->num_axes(), 0);
    EXPECT_NEAR(loss, top[0]->cpu_data()[0], 1e-5 * std::fmax(1.0, std::fabs(loss)));
    EXPECT_FLOAT_EQ(loss_weight, layer->loss(0));
    if (top.size() > 1) {
      ASSERT_EQ(top[1]->shape(), bottom[0]->shape());
      ExpectBlobNear(probs, *top[1], 1e-6f);
    }
  };
}

// Labels in [0, classes), then every `stride`-th one replaced by `ignore`.
std::function<void(const BlobVec&)> ScoresAndLabels(int classes, int ignore = kNoIgnore,
                                                    int stride = 3) {
  return [=](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 2, 41);
    FillLabels(bottom[1], classes, 42);
    if (ignore != kNoIgnore) {
      float* label = bottom[1]->mutable_cpu_data();
      for (int64_t i = 0; i < bottom[1]->count(); i += stride) label[i] = float(ignore);
    }
  };
}

LayerCase LossCase(const std::string& name, const std::string& params,
                   std::vector<std::vector<int>> shapes, int axis, int classes, int ignore,
                   Norm norm) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'SoftmaxWithLoss' " + params;
  c.bottom_shapes = std::move(shapes);
  c.fill = ScoresAndLabels(classes, ignore);
  c.reference = LossReference(axis, ignore, norm);
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> SoftmaxWithLossCases() {
  std::vector<LayerCase> cases;
  cases.push_back(LossCase("Default", "", {{4, 5}, {4}}, 1, 5, kNoIgnore, Norm::kValid));
  cases.push_back(LossCase("SpatialFull", "loss_param { normalization: FULL }",
                           {{2, 4, 3, 2}, {2, 1, 3, 2}}, 1, 4, kNoIgnore, Norm::kFull));
  cases.push_back(LossCase("IgnoreValid", "loss_param { ignore_label: 2 }",
                           {{2, 4, 3, 2}, {2, 3, 2}}, 1, 4, 2, Norm::kValid));
  cases.push_back(LossCase("IgnoreFull",
                           "loss_param { ignore_label: -1 normalization: FULL }",
                           {{2, 4, 3}, {2, 3}}, 1, 4, -1, Norm::kFull));
  cases.push_back(LossCase("BatchSize", "loss_param { normalization: BATCH_SIZE }",
                           {{3, 4, 2}, {3, 2}}, 1, 4, kNoIgnore, Norm::kBatch));
  cases.push_back(LossCase("NoNormalization", "loss_param { normalization: NONE }",
                           {{3, 4, 2}, {3, 2}}, 1, 4, kNoIgnore, Norm::kNone));
  cases.push_back(LossCase("LegacyNormalizeFalse",
                           "loss_param { normalize: false ignore_label: 0 }",
                           {{3, 4, 2}, {3, 2}}, 1, 4, 0, Norm::kBatch));
  cases.push_back(LossCase("LegacyNormalizeTrue",
                           "loss_param { normalize: true ignore_label: 0 }",
                           {{3, 4, 2}, {3, 2}}, 1, 4, 0, Norm::kValid));
  cases.push_back(LossCase("LastAxis", "softmax_param { axis: -1 }", {{2, 3, 5}, {2, 3}},
                           2, 5, kNoIgnore, Norm::kValid));
  {
    LayerCase c = LossCase("AllIgnored", "loss_param { ignore_label: 1 }", {{2, 3}, {2}}, 1,
                           3, 1, Norm::kValid);
    c.fill = ScoresAndLabels(3, 1, 1);
    cases.push_back(c);
  }
  {
    LayerCase c = LossCase("LossWeight", "loss_weight: 2.5", {{4, 5}, {4}}, 1, 5, kNoIgnore,
                           Norm::kValid);
    c.reference = LossReference(1, kNoIgnore, Norm::kValid, 2.5f);
    cases.push_back(c);
  }
  {
    // The probabilities top is an output only; no gradient flows from it,
    // so the gradient check (which weighs every top) does not apply.
    LayerCase c = LossCase("ProbabilityTop", "top: 'loss' top: 'prob'", {{4, 5}, {4}}, 1, 5,
                           kNoIgnore, Norm::kValid);
    c.check_gradient = false;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(SoftmaxWithLoss, LayerCaseTest,
                         ::testing::ValuesIn(SoftmaxWithLossCases()), LayerCaseName);

struct LossFixture {
  Blob scores{std::vector<int>{3, 4}};
  Blob labels{std::vector<int>{3}};
  Blob loss;
  std::unique_ptr<Layer> layer;

  explicit LossFixture(const std::string& params = "") {
    FillGaussian(&scores, 0, 1, 1);
    FillLabels(&labels, 4, 2);
    layer = MakeLayer("name: 'my_loss' type: 'SoftmaxWithLoss' " + params);
  }
  BlobVec bottom() { return {&scores, &labels}; }
  BlobVec top() { return {&loss}; }
};

TEST(SoftmaxWithLossLayerTest, LabelOutOfRangeNamesLayerValueAndClasses) {
  LossFixture f;
  f.labels.mutable_cpu_data()[1] = 7;
  f.layer->SetUp(f.bottom(), f.top());
  try {
    f.layer->Forward(f.bottom(), f.top());
    FAIL() << "expected an Error for label 7";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("my_loss"), std::string::npos) << what;
    EXPECT_NE(what.find("7"), std::string::npos) << what;
    EXPECT_NE(what.find("4 classes"), std::string::npos) << what;
  }
}

TEST(SoftmaxWithLossLayerTest, NegativeLabelThrows) {
  LossFixture f;
  f.labels.mutable_cpu_data()[0] = -1;
  f.layer->SetUp(f.bottom(), f.top());
  EXPECT_THROW(f.layer->Forward(f.bottom(), f.top()), Error);
}

TEST(SoftmaxWithLossLayerTest, LabelGradientIsRefused) {
  LossFixture f;
  EXPECT_TRUE(f.layer->AllowForceBackward(0));
  EXPECT_FALSE(f.layer->AllowForceBackward(1));
  f.layer->SetUp(f.bottom(), f.top());
  f.layer->Forward(f.bottom(), f.top());
  EXPECT_THROW(f.layer->Backward(f.top(), {true, true}, f.bottom()), Error);
}

TEST(SoftmaxWithLossLayerTest, LabelCountMismatchThrows) {
  LossFixture f;
  f.labels.Reshape({4});
  EXPECT_THROW(f.layer->SetUp(f.bottom(), f.top()), Error);
}

TEST(SoftmaxWithLossLayerTest, ConfidentCorrectPredictionHasNearZeroLoss) {
  LossFixture f;
  float* x = f.scores.mutable_cpu_data();
  for (int n = 0; n < 3; ++n) {
    for (int c = 0; c < 4; ++c) x[n * 4 + c] = (c == n) ? 50.f : -50.f;
    f.labels.mutable_cpu_data()[n] = float(n);
  }
  f.layer->SetUp(f.bottom(), f.top());
  EXPECT_NEAR(0.0, f.layer->Forward(f.bottom(), f.top()), 1e-6);
  // Confidently wrong: the loss is clamped at -log(FLT_MIN), not infinite.
  for (int n = 0; n < 3; ++n) f.labels.mutable_cpu_data()[n] = float((n + 1) % 4);
  const float loss = f.layer->Forward(f.bottom(), f.top());
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(-std::log(FLT_MIN), loss, 1e-3);
}

// Nets written for Caffe often leave the loss layer without a top.
TEST(SoftmaxWithLossLayerTest, LossWithoutATopStillCountsInANet) {
  caffe::NetParameter param;
  ReadProtoFromTextString(R"(
    layer { name: "in" type: "Input" top: "x" top: "y"
            input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }
    layer { name: "loss" type: "SoftmaxWithLoss" bottom: "x" bottom: "y" }
  )", "net", &param);
  Net net(param);
  float loss = 0;
  net.Forward(&loss);
  EXPECT_NEAR(loss, std::log(3.f), 1e-5f);  // zero scores, label 0: -log(1/3)
}

}  // namespace
}  // namespace testing
}  // namespace cortado
