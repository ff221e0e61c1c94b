// Table rows and in-place checks for the Power layer.
#include <cmath>
#include <string>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase PowerCase(const std::string& name, float power, float scale, float shift,
                    bool positive_base) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'pow' type: 'Power' power_param { power: " + std::to_string(power) +
               " scale: " + std::to_string(scale) + " shift: " + std::to_string(shift) + " }";
  c.bottom_shapes = {{2, 3, 4}};
  if (positive_base) {
    // shift + scale * x stays in [shift + 0.1 * scale, shift + 2 * scale].
    c.fill = [](const BlobVec& bottom) { FillUniform(bottom[0], 0.1f, 2.f, 11); };
  }
  c.reference = ElementwiseReference(
      [=](double x) { return std::pow(shift + scale * x, double(power)); });
  return c;
}

std::vector<LayerCase> PowerCases() {
  return {
      PowerCase("Identity", 1, 1, 0, false),
      PowerCase("Affine", 1, 0.83f, -2.4f, false),
      PowerCase("Square", 2, 0.83f, 1.3f, false),
      PowerCase("Fractional", 0.37f, 0.83f, 0.5f, true),
      PowerCase("NegativePower", -1.5f, 1.2f, 0.2f, true),
      PowerCase("Cube", 3, -0.7f, 0.4f, false),
      PowerCase("ZeroPower", 0, 0.83f, -2.4f, false),
      PowerCase("ZeroScale", 2.5f, 0, 1.7f, false),
  };
}

INSTANTIATE_TEST_SUITE_P(Power, LayerCaseTest, ::testing::ValuesIn(PowerCases()),
                         LayerCaseName);

TEST(PowerLayerTest, InPlaceBackwardNeedsConstantDerivative) {
  std::vector<float> x = {0.5f, -1.f, 2.f}, dy = {1.f, 2.f, 3.f}, y, dx;
  auto affine = MakeLayer("name: 'p' type: 'Power' power_param { scale: 2 shift: 1 }");
  RunInPlace(affine.get(), {3}, x, dy, &y, &dx);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(1 + 2 * x[i], y[i]);
    EXPECT_FLOAT_EQ(2 * dy[i], dx[i]);
  }
  auto square = MakeLayer("name: 'p' type: 'Power' power_param { power: 2 }");
  EXPECT_THROW(RunInPlace(square.get(), {3}, x, dy, &y, &dx), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
