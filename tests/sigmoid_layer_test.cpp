// Table rows and in-place checks for the Sigmoid layer.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

void SigmoidReference(Layer*, const BlobVec& bottom, const BlobVec& top) {
  ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
  std::vector<float> expected(bottom[0]->count());
  const float* x = bottom[0]->cpu_data();
  for (size_t i = 0; i < expected.size(); ++i) {
    expected[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double(x[i]))));
  }
  ExpectBlobNear(expected, *top[0], 1e-6f);
}

std::vector<LayerCase> SigmoidCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Default";
    c.prototxt = "name: 'sig' type: 'Sigmoid'";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.reference = SigmoidReference;
    cases.push_back(c);
  }
  {
    // Saturated inputs must give 0 and 1, never NaN or inf.
    LayerCase c;
    c.name = "Saturated";
    c.prototxt = "name: 'sig' type: 'Sigmoid'";
    c.bottom_shapes = {{4, 10}};
    c.fill = [](const BlobVec& bottom) { FillUniform(bottom[0], -100, 100, 5); };
    c.reference = SigmoidReference;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sigmoid, LayerCaseTest, ::testing::ValuesIn(SigmoidCases()),
                         LayerCaseName);

TEST(SigmoidLayerTest, InPlaceForwardBackward) {
  Blob blob({3, 4, 2});
  FillGaussian(&blob, 0, 2, 11);
  const std::vector<float> x(blob.cpu_data(), blob.cpu_data() + blob.count());
  auto layer = MakeLayer("name: 'sig' type: 'Sigmoid'");
  ASSERT_NE(layer, nullptr);
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = 1.0 / (1.0 + std::exp(-double(x[i])));
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], blob.cpu_data()[i], 1e-6);

  std::vector<float> dy(x.size());
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.5f - 0.1f * static_cast<float>(i % 7);
  std::copy(dy.begin(), dy.end(), blob.mutable_cpu_diff());
  layer->Backward(blobs, {true}, blobs);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(dy[i] * y[i] * (1 - y[i]), blob.cpu_diff()[i], 1e-6) << "element " << i;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
