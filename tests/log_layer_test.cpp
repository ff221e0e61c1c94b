// Table rows and error checks for the Log layer.
#include <cmath>
#include <string>
#include <vector>

#include "elementwise_reference.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

LayerCase LogCase(const std::string& name, const std::string& params, double base,
                  double scale, double shift) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'log' type: 'Log' " + params;
  c.bottom_shapes = {{2, 3, 4}};
  // Every (shift + scale * x) below is at least 0.3.
  c.fill = [](const BlobVec& bottom) { FillUniform(bottom[0], 0.5f, 2.f, 13); };
  c.reference = ElementwiseReference(
      [=](double x) { return std::log(shift + scale * x) / std::log(base); });
  return c;
}

std::vector<LayerCase> LogCases() {
  const double e = std::exp(1.0);
  return {
      LogCase("Default", "", e, 1, 0),
      LogCase("ScaleShift", "log_param { scale: 0.5 shift: 0.05 }", e, 0.5, 0.05),
      LogCase("Base2", "log_param { base: 2 }", 2, 1, 0),
      LogCase("Base10ScaleShift", "log_param { base: 10 scale: -0.4 shift: 1.1 }", 10, -0.4,
              1.1),
  };
}

INSTANTIATE_TEST_SUITE_P(Log, LayerCaseTest, ::testing::ValuesIn(LogCases()), LayerCaseName);

TEST(LogLayerTest, NonPositiveBaseThrows) {
  Blob x({2}), y;
  auto layer = MakeLayer("name: 'l' type: 'Log' log_param { base: -3 }");
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
}

TEST(LogLayerTest, InPlaceBackwardThrows) {
  std::vector<float> x = {0.5f, 1.f}, dy = {1.f, 2.f}, y, dx;
  auto layer = MakeLayer("name: 'l' type: 'Log'");
  EXPECT_THROW(RunInPlace(layer.get(), {2}, x, dy, &y, &dx), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
