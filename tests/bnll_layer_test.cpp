// Table rows for the BNLL layer.
#include <cmath>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

double Softplus(double x) { return std::log(1 + std::exp(x)); }

std::vector<LayerCase> BnllCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Default";
    c.prototxt = "name: 'bnll' type: 'BNLL'";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.reference = ElementwiseReference(Softplus);
    cases.push_back(c);
  }
  {
    // Large magnitudes: neither branch may overflow.
    LayerCase c;
    c.name = "LargeInputs";
    c.prototxt = "name: 'bnll' type: 'BNLL'";
    c.bottom_shapes = {{4, 6}};
    c.fill = [](const BlobVec& bottom) { FillGaussian(bottom[0], 0, 40, 17); };
    c.reference = ElementwiseReference(
        [](double x) { return x > 30 ? x + std::exp(-x) : Softplus(x); });
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Bnll, LayerCaseTest, ::testing::ValuesIn(BnllCases()), LayerCaseName);

}  // namespace
}  // namespace testing
}  // namespace cortado
