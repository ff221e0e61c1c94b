// Table rows and error checks for the AbsVal layer.
#include <cmath>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::vector<LayerCase> AbsValCases() {
  LayerCase c;
  c.name = "Default";
  c.prototxt = "name: 'abs' type: 'AbsVal'";
  c.bottom_shapes = {{2, 3, 4, 5}};
  c.reference = ElementwiseReference([](double x) { return std::fabs(x); }, 0);
  c.gradient.kink = 0;
  c.gradient.kink_range = 0.02f;
  return {c};
}

INSTANTIATE_TEST_SUITE_P(AbsVal, LayerCaseTest, ::testing::ValuesIn(AbsValCases()),
                         LayerCaseName);

TEST(AbsValLayerTest, InPlaceIsRefused) {
  Blob blob({4});
  auto layer = MakeLayer("name: 'abs' type: 'AbsVal'");
  BlobVec blobs = {&blob};
  EXPECT_THROW(layer->SetUp(blobs, blobs), Error);
}

TEST(AbsValLayerTest, GradientAtZeroIsZero) {
  Blob x({3}), y;
  x.mutable_cpu_data()[0] = 0;
  x.mutable_cpu_data()[1] = -2;
  x.mutable_cpu_data()[2] = 3;
  auto layer = MakeLayer("name: 'abs' type: 'AbsVal'");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  for (int i = 0; i < 3; ++i) y.mutable_cpu_diff()[i] = 5;
  layer->Backward({&y}, {true}, {&x});
  EXPECT_EQ(0.f, x.cpu_diff()[0]);
  EXPECT_EQ(-5.f, x.cpu_diff()[1]);
  EXPECT_EQ(5.f, x.cpu_diff()[2]);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
