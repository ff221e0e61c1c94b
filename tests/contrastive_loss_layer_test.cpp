// Table rows for the ContrastiveLoss layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "loss_reference.hpp"

namespace cortado {
namespace testing {
namespace {

double NaiveContrastive(const BlobVec& bottom, double margin, bool legacy) {
  const int num = bottom[0]->shape(0);
  const int64_t dim = bottom[0]->count() / num;
  double loss = 0;
  for (int n = 0; n < num; ++n) {
    double d2 = 0;
    for (int64_t k = 0; k < dim; ++k) {
      const double d = double(bottom[0]->cpu_data()[n * dim + k]) - bottom[1]->cpu_data()[n * dim + k];
      d2 += d * d;
    }
    if (bottom[2]->cpu_data()[n] != 0) {
      loss += d2;
    } else if (legacy) {
      loss += std::max(margin - d2, 0.0);
    } else {
      const double gap = std::max(margin - std::sqrt(d2), 0.0);
      loss += gap * gap;
    }
  }
  return loss / num / 2;
}

// Pairs a, b with distances spread around the margin but not within 0.1 of
// the point where a dissimilar pair's loss switches off; every other pair
// similar.
std::function<void(const BlobVec&)> PairFill(float margin, bool legacy) {
  return [=](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 0.5f, 83);
    FillGaussian(bottom[1], 0, 0.5f, 84);
    const int num = bottom[0]->shape(0);
    const int64_t dim = bottom[0]->count() / num;
    // The switch is at d = margin (legacy: d^2 = margin).
    const float kink = legacy ? std::sqrt(margin) : margin;
    for (int n = 0; n < num; ++n) {
      bottom[2]->mutable_cpu_data()[n] = float(n % 2);
      float* a = bottom[0]->mutable_cpu_data() + n * dim;
      float* b = bottom[1]->mutable_cpu_data() + n * dim;
      double d2 = 0;
      for (int64_t k = 0; k < dim; ++k) d2 += double(a[k] - b[k]) * (a[k] - b[k]);
      const double d = std::sqrt(d2);
      if (std::fabs(d - kink) < 0.1) {
        const double target = d < kink ? kink - 0.2 : kink + 0.2;
        for (int64_t k = 0; k < dim; ++k) b[k] = a[k] - float((a[k] - b[k]) * target / d);
      }
    }
  };
}

LayerCase ContrastiveCase(const std::string& name, const std::string& params, float margin,
                          bool legacy, std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'ContrastiveLoss' " + params;
  c.bottom_shapes = {shape, shape, {shape[0]}};
  c.fill = PairFill(margin, legacy);
  c.reference = LossReference(
      [=](const BlobVec& b) { return NaiveContrastive(b, margin, legacy); });
  c.bottoms_to_check = {0, 1};
  // The d + 1e-4 in the gradient's denominator is a (tiny) deliberate bias.
  c.gradient.threshold = 2e-2f;
  return c;
}

std::vector<LayerCase> ContrastiveLossCases() {
  return {
      ContrastiveCase("Default", "", 1, false, {8, 3}),
      ContrastiveCase("Margin2", "contrastive_loss_param { margin: 2 }", 2, false,
                      {8, 3, 1, 1}),
      ContrastiveCase("Legacy", "contrastive_loss_param { legacy_version: true }", 1, true,
                      {8, 3}),
      ContrastiveCase("LegacyMargin", "contrastive_loss_param { margin: 1.5 legacy_version: true }",
                      1.5f, true, {6, 4}),
  };
}

INSTANTIATE_TEST_SUITE_P(ContrastiveLoss, LayerCaseTest,
                         ::testing::ValuesIn(ContrastiveLossCases()), LayerCaseName);

TEST(ContrastiveLossLayerTest, BadInputsThrow) {
  Blob a({4, 3}), b({4, 2}), similar({4}), loss;
  auto layer = MakeLayer("name: 'l' type: 'ContrastiveLoss'");
  EXPECT_THROW(layer->SetUp({&a, &b, &similar}, {&loss}), Error);
  Blob b2({4, 3}), few({3});
  auto count = MakeLayer("name: 'l' type: 'ContrastiveLoss'");
  EXPECT_THROW(count->SetUp({&a, &b2, &few}, {&loss}), Error);
  EXPECT_TRUE(count->AllowForceBackward(1));
  EXPECT_FALSE(count->AllowForceBackward(2));
}

}  // namespace
}  // namespace testing
}  // namespace cortado
