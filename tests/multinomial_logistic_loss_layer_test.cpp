// Table rows and clamping checks for the MultinomialLogisticLoss layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "loss_reference.hpp"

namespace cortado {
namespace testing {
namespace {

double NaiveMultinomialLogistic(const BlobVec& bottom) {
  const int num = bottom[0]->shape(0);
  const int64_t dim = bottom[0]->count() / num;
  double loss = 0;
  for (int n = 0; n < num; ++n) {
    const int label = int(bottom[1]->cpu_data()[n]);
    loss -= std::log(std::max(double(bottom[0]->cpu_data()[n * dim + label]), 1e-20));
  }
  return loss / num;
}

LayerCase MlCase(const std::string& name, const std::string& params,
                 std::vector<std::vector<int>> shapes, int classes, float loss_weight = 1) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'MultinomialLogisticLoss' " + params;
  c.bottom_shapes = shapes;
  // Probabilities away from 0, where -log(p) is too curved for the probe.
  c.fill = [classes](const BlobVec& bottom) {
    FillUniform(bottom[0], 0.2f, 1.f, 67);
    FillLabels(bottom[1], classes, 68);
  };
  c.reference = LossReference(NaiveMultinomialLogistic, loss_weight);
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> MultinomialLogisticLossCases() {
  return {
      MlCase("Default", "", {{5, 4}, {5}}, 4),
      MlCase("FourAxes", "", {{3, 6, 1, 1}, {3, 1, 1, 1}}, 6),
      MlCase("LossWeight", "loss_weight: 3", {{5, 4}, {5}}, 4, 3),
  };
}

INSTANTIATE_TEST_SUITE_P(MultinomialLogisticLoss, LayerCaseTest,
                         ::testing::ValuesIn(MultinomialLogisticLossCases()), LayerCaseName);

TEST(MultinomialLogisticLossLayerTest, ZeroProbabilityIsClamped) {
  Blob p({1, 2}), label({1}), loss;
  p.mutable_cpu_data()[1] = 1;  // p[label 0] = 0
  auto layer = MakeLayer("name: 'l' type: 'MultinomialLogisticLoss'");
  layer->SetUp({&p, &label}, {&loss});
  const float value = layer->Forward({&p, &label}, {&loss});
  EXPECT_TRUE(std::isfinite(value));
  EXPECT_NEAR(-std::log(1e-20), value, 1e-3);
  label.mutable_cpu_data()[0] = 2;
  EXPECT_THROW(layer->Forward({&p, &label}, {&loss}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
