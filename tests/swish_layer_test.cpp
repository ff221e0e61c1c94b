// Table rows and in-place checks for the Swish layer.
#include <cmath>
#include <string>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

double Swish(double x, double beta) { return x / (1 + std::exp(-beta * x)); }

std::vector<LayerCase> SwishCases() {
  std::vector<LayerCase> cases;
  for (float beta : {1.f, 0.5f, 2.5f}) {
    LayerCase c;
    c.name = beta == 1 ? "Default" : beta < 1 ? "BetaHalf" : "BetaLarge";
    c.prototxt = "name: 'swish' type: 'Swish'";
    if (beta != 1) c.prototxt += " swish_param { beta: " + std::to_string(beta) + " }";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.fill = [](const BlobVec& bottom) { FillGaussian(bottom[0], 0, 2, 23); };
    c.reference = ElementwiseReference([beta](double x) { return Swish(x, beta); });
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Swish, LayerCaseTest, ::testing::ValuesIn(SwishCases()),
                         LayerCaseName);

TEST(SwishLayerTest, InPlaceMatchesAnalyticDerivative) {
  std::vector<float> x = {-3.f, -0.4f, 0.f, 0.7f, 2.5f}, dy = {1.f, -2.f, 0.5f, 3.f, 1.f};
  std::vector<float> y, dx;
  auto layer = MakeLayer("name: 's' type: 'Swish' swish_param { beta: 1.5 }");
  RunInPlace(layer.get(), {5}, x, dy, &y, &dx);
  for (size_t i = 0; i < x.size(); ++i) {
    const double s = 1 / (1 + std::exp(-1.5 * x[i]));
    EXPECT_NEAR(x[i] * s, y[i], 1e-6) << i;
    EXPECT_NEAR(dy[i] * (s + 1.5 * x[i] * s * (1 - s)), dx[i], 1e-5) << i;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
