// Table rows and error checks for the Clip layer.
#include <algorithm>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase ClipCase(const char* name, float lo, float hi) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'clip' type: 'Clip' clip_param { min: " + std::to_string(lo) +
               " max: " + std::to_string(hi) + " }";
  c.bottom_shapes = {{2, 3, 4, 5}};
  c.fill = [lo, hi](const BlobVec& bottom) {
    FillGaussian(bottom[0], 0, 1.5f, 19);
    KeepAwayFrom(bottom[0], {lo, hi}, 0.02f);
  };
  c.reference = ElementwiseReference(
      [lo, hi](double x) { return std::max<double>(lo, std::min<double>(x, hi)); }, 0);
  return c;
}

std::vector<LayerCase> ClipCases() {
  return {ClipCase("Symmetric", -1, 1), ClipCase("Asymmetric", -0.3f, 2.1f),
          ClipCase("Point", 0.5f, 0.5f)};
}

INSTANTIATE_TEST_SUITE_P(Clip, LayerCaseTest, ::testing::ValuesIn(ClipCases()), LayerCaseName);

TEST(ClipLayerTest, GradientPassesAtTheBounds) {
  Blob x({4}), y;
  const float values[] = {-1, 1, -1.5f, 0.2f};
  std::copy(values, values + 4, x.mutable_cpu_data());
  auto layer = MakeLayer("name: 'c' type: 'Clip' clip_param { min: -1 max: 1 }");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  std::fill_n(y.mutable_cpu_diff(), 4, 3.f);
  layer->Backward({&y}, {true}, {&x});
  EXPECT_EQ(3.f, x.cpu_diff()[0]);
  EXPECT_EQ(3.f, x.cpu_diff()[1]);
  EXPECT_EQ(0.f, x.cpu_diff()[2]);
  EXPECT_EQ(3.f, x.cpu_diff()[3]);
}

TEST(ClipLayerTest, BadParametersThrow) {
  Blob x({2}), y;
  auto inverted = MakeLayer("name: 'c' type: 'Clip' clip_param { min: 1 max: -1 }");
  EXPECT_THROW(inverted->SetUp({&x}, {&y}), Error);
  auto missing = MakeLayer("name: 'c' type: 'Clip'");
  EXPECT_THROW(missing->SetUp({&x}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
