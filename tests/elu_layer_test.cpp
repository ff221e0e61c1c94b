// Table rows and in-place checks for the ELU layer.
#include <cmath>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::vector<LayerCase> EluCases() {
  GradientCheckOptions kinked;
  kinked.kink = 0;
  kinked.kink_range = 0.02f;
  std::vector<LayerCase> cases;
  for (float alpha : {1.f, 0.5f, 2.f}) {
    LayerCase c;
    c.name = alpha == 1.f ? "Default" : alpha == 0.5f ? "AlphaHalf" : "AlphaTwo";
    c.prototxt = "name: 'elu' type: 'ELU'";
    if (alpha != 1.f) c.prototxt += " elu_param { alpha: " + std::to_string(alpha) + " }";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.reference = ElementwiseReference(
        [alpha](double x) { return x > 0 ? x : alpha * (std::exp(x) - 1); });
    c.gradient = kinked;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Elu, LayerCaseTest, ::testing::ValuesIn(EluCases()), LayerCaseName);

TEST(EluLayerTest, InPlaceMatchesSeparateTop) {
  Blob source({3, 4});
  FillGaussian(&source, 0, 1, 5);
  std::vector<float> x(source.cpu_data(), source.cpu_data() + source.count());
  std::vector<float> dy(x.size());
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.1f * float(i) - 0.5f;
  std::vector<float> y, dx;
  auto layer = MakeLayer("name: 'elu' type: 'ELU' elu_param { alpha: 0.7 }");
  RunInPlace(layer.get(), {3, 4}, x, dy, &y, &dx);
  for (size_t i = 0; i < x.size(); ++i) {
    const double expected_y = x[i] > 0 ? x[i] : 0.7 * (std::exp(x[i]) - 1);
    const double slope = x[i] > 0 ? 1 : 0.7 * std::exp(x[i]);
    EXPECT_NEAR(expected_y, y[i], 1e-6) << i;
    EXPECT_NEAR(slope * dy[i], dx[i], 1e-6) << i;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
