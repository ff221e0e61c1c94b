// Table rows for the MVN layer.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::function<void(Layer*, const BlobVec&, const BlobVec&)> MvnReference(bool variance,
                                                                         bool across,
                                                                         double eps) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    ASSERT_EQ(in.shape(), top[0]->shape());
    const int64_t rows = across ? in.shape(0) : in.count(0, 2);
    const int64_t dim = in.count() / rows;
    std::vector<float> expected(in.count());
    for (int64_t r = 0; r < rows; ++r) {
      const float* x = in.cpu_data() + r * dim;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += x[i];
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i) var += (x[i] - mean) * (x[i] - mean);
      var /= dim;
      const double divisor = variance ? std::sqrt(var) + eps : 1;
      for (int64_t i = 0; i < dim; ++i) expected[r * dim + i] = float((x[i] - mean) / divisor);
    }
    ExpectBlobNear(expected, *top[0], 1e-5f);
  };
}

LayerCase MvnCase(const std::string& name, const std::string& params, std::vector<int> shape,
                  bool variance, bool across, double eps = 1e-9) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'mvn' type: 'MVN' " + params;
  c.bottom_shapes = {shape};
  c.fill = [](const BlobVec& bottom) { FillGaussian(bottom[0], 1.5f, 2, 31); };
  c.reference = MvnReference(variance, across, eps);
  return c;
}

std::vector<LayerCase> MvnCases() {
  return {
      MvnCase("Default", "", {2, 3, 4, 5}, true, false),
      MvnCase("MeanOnly", "mvn_param { normalize_variance: false }", {2, 3, 4, 5}, false,
              false),
      MvnCase("AcrossChannels", "mvn_param { across_channels: true }", {2, 3, 4, 5}, true,
              true),
      MvnCase("AcrossChannelsMeanOnly",
              "mvn_param { across_channels: true normalize_variance: false }", {2, 3, 3, 2},
              false, true),
      MvnCase("LargeEps", "mvn_param { eps: 0.5 }", {2, 3, 2, 3}, true, false, 0.5),
      MvnCase("TwoAxes", "mvn_param { across_channels: true }", {3, 8}, true, true),
  };
}

INSTANTIATE_TEST_SUITE_P(Mvn, LayerCaseTest, ::testing::ValuesIn(MvnCases()), LayerCaseName);

// A constant vector has zero variance: the output and gradient stay finite.
TEST(MvnLayerTest, ConstantInputStaysFinite) {
  Blob x({1, 2, 3}), y;
  std::fill_n(x.mutable_cpu_data(), 6, 4.f);
  auto layer = MakeLayer("name: 'mvn' type: 'MVN'");
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  for (int i = 0; i < 6; ++i) y.mutable_cpu_diff()[i] = float(i);
  layer->Backward({&y}, {true}, {&x});
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(0.f, y.cpu_data()[i]) << i;
    EXPECT_TRUE(std::isfinite(x.cpu_diff()[i])) << i;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
