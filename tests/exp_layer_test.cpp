// Table rows and error checks for the Exp layer.
#include <cmath>
#include <string>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase ExpCase(const std::string& name, const std::string& params, double base,
                  double scale, double shift) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'exp' type: 'Exp' " + params;
  c.bottom_shapes = {{2, 3, 4}};
  c.reference = ElementwiseReference(
      [=](double x) { return std::pow(base, shift + scale * x); });
  return c;
}

std::vector<LayerCase> ExpCases() {
  const double e = std::exp(1.0);
  return {
      ExpCase("Default", "", e, 1, 0),
      ExpCase("ScaleShift", "exp_param { scale: 0.5 shift: -0.3 }", e, 0.5, -0.3),
      ExpCase("Base2", "exp_param { base: 2 }", 2, 1, 0),
      ExpCase("Base3ScaleShift", "exp_param { base: 3 scale: -0.7 shift: 0.4 }", 3, -0.7, 0.4),
  };
}

INSTANTIATE_TEST_SUITE_P(Exp, LayerCaseTest, ::testing::ValuesIn(ExpCases()), LayerCaseName);

TEST(ExpLayerTest, NonPositiveBaseThrows) {
  Blob x({2}), y;
  for (const char* base : {"0", "-2"}) {
    auto layer = MakeLayer(std::string("name: 'e' type: 'Exp' exp_param { base: ") + base + " }");
    EXPECT_THROW(layer->SetUp({&x}, {&y}), Error) << base;
  }
}

TEST(ExpLayerTest, InPlaceBackwardUsesOnlyTheOutput) {
  std::vector<float> x = {0.5f, -1.f, 2.f}, dy = {1.f, 2.f, 3.f}, y, dx;
  auto layer = MakeLayer("name: 'e' type: 'Exp' exp_param { base: 2 scale: 0.5 }");
  RunInPlace(layer.get(), {3}, x, dy, &y, &dx);
  for (int i = 0; i < 3; ++i) {
    const double expected = std::pow(2.0, 0.5 * x[i]);
    EXPECT_NEAR(expected, y[i], 1e-6);
    EXPECT_NEAR(dy[i] * expected * 0.5 * std::log(2.0), dx[i], 1e-5);
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
