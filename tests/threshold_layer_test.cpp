// Table rows and the missing-backward check for the Threshold layer.
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::vector<LayerCase> ThresholdCases() {
  std::vector<LayerCase> cases;
  for (float threshold : {0.f, 0.4f, -1.f}) {
    LayerCase c;
    c.name = threshold == 0 ? "Default" : threshold > 0 ? "Positive" : "Negative";
    c.prototxt = "name: 'th' type: 'Threshold'";
    if (threshold != 0) {
      c.prototxt += " threshold_param { threshold: " + std::to_string(threshold) + " }";
    }
    c.bottom_shapes = {{2, 3, 6, 5}};
    c.reference = ElementwiseReference(
        [threshold](double x) { return x > threshold ? 1.0 : 0.0; }, 0);
    c.check_gradient = false;  // forward only, as in BVLC Caffe
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Threshold, LayerCaseTest, ::testing::ValuesIn(ThresholdCases()),
                         LayerCaseName);

TEST(ThresholdLayerTest, ValueAtThresholdIsZero) {
  Blob x({2}), y;
  x.mutable_cpu_data()[0] = 0.5f;
  x.mutable_cpu_data()[1] = 0.50001f;
  auto layer = MakeLayer("name: 'th' type: 'Threshold' threshold_param { threshold: 0.5 }");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  EXPECT_EQ(0.f, y.cpu_data()[0]);
  EXPECT_EQ(1.f, y.cpu_data()[1]);
}

TEST(ThresholdLayerTest, BackwardThrows) {
  Blob x({2}), y;
  auto layer = MakeLayer("name: 'th' type: 'Threshold'");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  EXPECT_THROW(layer->Backward({&y}, {true}, {&x}), Error);
  EXPECT_NO_THROW(layer->Backward({&y}, {false}, {&x}));
}

}  // namespace
}  // namespace testing
}  // namespace cortado
