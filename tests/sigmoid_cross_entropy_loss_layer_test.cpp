// Table rows and stability checks for the SigmoidCrossEntropyLoss layer.
#include <cmath>
#include <string>
#include <vector>

#include "loss_reference.hpp"

namespace cortado {
namespace testing {
namespace {

enum class Norm { kFull, kValid, kBatch, kNone };
constexpr int kNoIgnore = -1000;

// Direct -[t log s + (1 - t) log(1 - s)], fine for moderate scores.
double NaiveSigmoidCrossEntropy(const BlobVec& bottom, int ignore, Norm norm) {
  const int64_t n = bottom[0]->count();
  double loss = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = bottom[0]->cpu_data()[i], t = bottom[1]->cpu_data()[i];
    if (int(t) == ignore) continue;
    const double s = 1 / (1 + std::exp(-x));
    loss -= t * std::log(s) + (1 - t) * std::log(1 - s);
    ++valid;
  }
  const double outer = bottom[0]->shape(0);
  double normalizer = 1;
  switch (norm) {
    case Norm::kFull: normalizer = double(n); break;
    case Norm::kValid: normalizer = double(valid); break;
    case Norm::kBatch: normalizer = outer; break;
    case Norm::kNone: normalizer = 1; break;
  }
  return loss / std::fmax(1.0, normalizer);
}

LayerCase SceCase(const std::string& name, const std::string& params,
                  std::vector<std::vector<int>> shapes, int ignore, Norm norm,
                  float loss_weight = 1) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'SigmoidCrossEntropyLoss' " + params;
  c.bottom_shapes = shapes;
  c.fill = [ignore](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 2, 61);
    FillUniform(bottom[1], 0, 1, 62);  // target probabilities
    if (ignore != kNoIgnore) {
      float* t = bottom[1]->mutable_cpu_data();
      for (int64_t i = 0; i < bottom[1]->count(); i += 3) t[i] = float(ignore);
    }
  };
  c.reference = LossReference(
      [ignore, norm](const BlobVec& b) { return NaiveSigmoidCrossEntropy(b, ignore, norm); },
      loss_weight);
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> SigmoidCrossEntropyLossCases() {
  return {
      SceCase("DefaultBatchSize", "", {{4, 5}, {4, 5}}, kNoIgnore, Norm::kBatch),
      SceCase("Valid", "loss_param { normalization: VALID }", {{2, 3, 2, 2}, {2, 12}},
              kNoIgnore, Norm::kValid),
      SceCase("IgnoreValid", "loss_param { ignore_label: -1 normalization: VALID }",
              {{2, 3, 2, 2}, {2, 3, 2, 2}}, -1, Norm::kValid),
      SceCase("IgnoreFull", "loss_param { ignore_label: -1 normalization: FULL }",
              {{3, 4}, {3, 4}}, -1, Norm::kFull),
      SceCase("IgnoreDefault", "loss_param { ignore_label: 7 }", {{3, 4}, {3, 4}}, 7,
              Norm::kBatch),
      SceCase("NoNormalization", "loss_param { normalization: NONE }", {{3, 4}, {3, 4}},
              kNoIgnore, Norm::kNone),
      SceCase("LegacyNormalizeTrue", "loss_param { normalize: true ignore_label: -1 }",
              {{3, 4}, {3, 4}}, -1, Norm::kValid),
      SceCase("LegacyNormalizeFalse", "loss_param { normalize: false }", {{3, 4}, {3, 4}},
              kNoIgnore, Norm::kBatch),
      SceCase("LossWeight", "loss_weight: 0.4", {{4, 5}, {4, 5}}, kNoIgnore, Norm::kBatch, 0.4f),
  };
}

INSTANTIATE_TEST_SUITE_P(SigmoidCrossEntropyLoss, LayerCaseTest,
                         ::testing::ValuesIn(SigmoidCrossEntropyLossCases()), LayerCaseName);

// Scores of +-100: the naive formula would take log(0); the layer's stays
// finite and matches the exact limits.
TEST(SigmoidCrossEntropyLossLayerTest, LargeScoresStayFinite) {
  Blob x({1, 2}), t({1, 2}), loss;
  x.mutable_cpu_data()[0] = 100;
  x.mutable_cpu_data()[1] = -100;
  t.mutable_cpu_data()[0] = 0;  // confidently wrong: loss 100
  t.mutable_cpu_data()[1] = 0;  // confidently right: loss ~0
  auto layer = MakeLayer("name: 'l' type: 'SigmoidCrossEntropyLoss'");
  layer->SetUp({&x, &t}, {&loss});
  EXPECT_NEAR(100.0, layer->Forward({&x, &t}, {&loss}), 1e-3);
  layer->Backward({&loss}, {true, false}, {&x, &t});
  EXPECT_NEAR(1.0, x.cpu_diff()[0], 1e-6);
  EXPECT_NEAR(0.0, x.cpu_diff()[1], 1e-6);
}

TEST(SigmoidCrossEntropyLossLayerTest, TargetGradientIsRefused) {
  Blob x({2, 3}), t({2, 3}), loss;
  auto layer = MakeLayer("name: 'l' type: 'SigmoidCrossEntropyLoss'");
  EXPECT_FALSE(layer->AllowForceBackward(1));
  layer->SetUp({&x, &t}, {&loss});
  layer->Forward({&x, &t}, {&loss});
  EXPECT_THROW(layer->Backward({&loss}, {true, true}, {&x, &t}), Error);
  Blob short_t({2, 2});
  auto count = MakeLayer("name: 'l' type: 'SigmoidCrossEntropyLoss'");
  EXPECT_THROW(count->SetUp({&x, &short_t}, {&loss}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
