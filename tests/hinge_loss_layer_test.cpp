// Table rows and label checks for the HingeLoss layer.
#include <algorithm>
#include <string>
#include <vector>

#include "elementwise_reference.hpp"
#include "loss_reference.hpp"

namespace cortado {
namespace testing {
namespace {

double NaiveHinge(const BlobVec& bottom, bool squared) {
  const int num = bottom[0]->shape(0);
  const int64_t dim = bottom[0]->count() / num;
  double loss = 0;
  for (int n = 0; n < num; ++n) {
    const int label = int(bottom[1]->cpu_data()[n]);
    for (int64_t k = 0; k < dim; ++k) {
      const double s = bottom[0]->cpu_data()[n * dim + k];
      const double margin = std::max(0.0, 1 + (k == label ? -s : s));
      loss += squared ? margin * margin : margin;
    }
  }
  return loss / num;
}

LayerCase HingeCase(const std::string& name, const std::string& params,
                    std::vector<std::vector<int>> shapes, int classes, bool squared) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'loss' type: 'HingeLoss' " + params;
  c.bottom_shapes = shapes;
  // Scores at +-1 are where a margin switches on: keep probes off them.
  c.fill = [classes](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1.5f, 59);
    KeepAwayFrom(bottom[0], {-1.f, 1.f}, 0.02f);
    FillLabels(bottom[1], classes, 60);
  };
  c.reference = LossReference([squared](const BlobVec& b) { return NaiveHinge(b, squared); });
  c.bottoms_to_check = {0};
  return c;
}

std::vector<LayerCase> HingeLossCases() {
  return {
      HingeCase("L1", "", {{6, 5}, {6}}, 5, false),
      HingeCase("L2", "hinge_loss_param { norm: L2 }", {{6, 5}, {6}}, 5, true),
      HingeCase("L1FourAxes", "hinge_loss_param { norm: L1 }", {{4, 6, 1, 1}, {4, 1, 1, 1}}, 6,
                false),
  };
}

INSTANTIATE_TEST_SUITE_P(HingeLoss, LayerCaseTest, ::testing::ValuesIn(HingeLossCases()),
                         LayerCaseName);

TEST(HingeLossLayerTest, BadLabelsThrow) {
  Blob scores({3, 4}), labels({3}), loss;
  auto layer = MakeLayer("name: 'l' type: 'HingeLoss'");
  layer->SetUp({&scores, &labels}, {&loss});
  labels.mutable_cpu_data()[2] = 4;
  EXPECT_THROW(layer->Forward({&scores, &labels}, {&loss}), Error);
  Blob few({2});
  auto count = MakeLayer("name: 'l' type: 'HingeLoss'");
  EXPECT_THROW(count->SetUp({&scores, &few}, {&loss}), Error);
  EXPECT_FALSE(count->AllowForceBackward(1));
}

}  // namespace
}  // namespace testing
}  // namespace cortado
