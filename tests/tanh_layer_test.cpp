// Table rows and in-place checks for the TanH layer.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

void TanhReference(Layer*, const BlobVec& bottom, const BlobVec& top) {
  ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
  std::vector<float> expected(bottom[0]->count());
  const float* x = bottom[0]->cpu_data();
  for (size_t i = 0; i < expected.size(); ++i) {
    // From the exponential definition, not std::tanh.
    const double e2 = std::exp(2.0 * std::fmin(std::fmax(x[i], -40.0), 40.0));
    expected[i] = static_cast<float>((e2 - 1) / (e2 + 1));
  }
  ExpectBlobNear(expected, *top[0], 1e-6f);
}

std::vector<LayerCase> TanhCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Default";
    c.prototxt = "name: 'tanh' type: 'TanH'";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.reference = TanhReference;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "Saturated";
    c.prototxt = "name: 'tanh' type: 'TanH'";
    c.bottom_shapes = {{4, 10}};
    c.fill = [](const BlobVec& bottom) { FillUniform(bottom[0], -100, 100, 5); };
    c.reference = TanhReference;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Tanh, LayerCaseTest, ::testing::ValuesIn(TanhCases()), LayerCaseName);

TEST(TanhLayerTest, InPlaceForwardBackward) {
  Blob blob({3, 4, 2});
  FillGaussian(&blob, 0, 1.5f, 12);
  const std::vector<float> x(blob.cpu_data(), blob.cpu_data() + blob.count());
  auto layer = MakeLayer("name: 'tanh' type: 'TanH'");
  ASSERT_NE(layer, nullptr);
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = std::tanh(double(x[i]));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], blob.cpu_data()[i], 1e-6);

  std::vector<float> dy(x.size());
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.3f * static_cast<float>(i % 5) - 0.6f;
  std::copy(dy.begin(), dy.end(), blob.mutable_cpu_diff());
  layer->Backward(blobs, {true}, blobs);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(dy[i] * (1 - y[i] * y[i]), blob.cpu_diff()[i], 1e-6) << "element " << i;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
