// Table rows and in-place checks for the ReLU layer.
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Naive reference: y = x for x > 0, slope * x otherwise.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> ReluReference(float slope) {
  return [slope](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    std::vector<float> expected(bottom[0]->count());
    const float* x = bottom[0]->cpu_data();
    for (size_t i = 0; i < expected.size(); ++i) {
      expected[i] = x[i] > 0 ? x[i] : slope * x[i];
    }
    ExpectBlobNear(expected, *top[0], 1e-6f);
  };
}

std::vector<LayerCase> ReluCases() {
  GradientCheckOptions kinked;
  kinked.kink = 0;
  kinked.kink_range = 0.02f;  // > stepsize, so no probe straddles the kink
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Default";
    c.prototxt = "name: 'relu' type: 'ReLU'";
    c.bottom_shapes = {{2, 3, 4, 5}};
    c.reference = ReluReference(0);
    c.gradient = kinked;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "NegativeSlope";
    c.prototxt = "name: 'leaky' type: 'ReLU' relu_param { negative_slope: 0.3 }";
    c.bottom_shapes = {{2, 3, 4}};
    c.reference = ReluReference(0.3f);
    c.gradient = kinked;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "NegativeSlopeBelowZero";
    c.prototxt = "name: 'odd' type: 'ReLU' relu_param { negative_slope: -0.5 }";
    c.bottom_shapes = {{3, 7}};
    c.reference = ReluReference(-0.5f);
    c.gradient = kinked;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Relu, LayerCaseTest, ::testing::ValuesIn(ReluCases()), LayerCaseName);

// In place, the bottom's data is overwritten by the top: the backward pass
// must still pick the right branch for every element.
void CheckReluInPlace(float slope) {
  Blob blob({2, 3, 5});
  FillGaussian(&blob, 0, 1, 7);
  const std::vector<float> x(blob.cpu_data(), blob.cpu_data() + blob.count());
  auto layer = MakeLayer("name: 'relu' type: 'ReLU' relu_param { negative_slope: " +
                         std::to_string(slope) + " }");
  ASSERT_NE(layer, nullptr);
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  std::vector<float> expected_y(x.size());
  for (size_t i = 0; i < x.size(); ++i) expected_y[i] = x[i] > 0 ? x[i] : slope * x[i];
  ExpectBlobNear(expected_y, blob, 1e-6f);

  Blob dy_source({2, 3, 5});
  FillGaussian(&dy_source, 0, 1, 8);
  const std::vector<float> dy(dy_source.cpu_data(), dy_source.cpu_data() + dy_source.count());
  std::copy(dy.begin(), dy.end(), blob.mutable_cpu_diff());
  layer->Backward(blobs, {true}, blobs);
  std::vector<float> expected_dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) expected_dx[i] = x[i] > 0 ? dy[i] : slope * dy[i];
  const float* dx = blob.cpu_diff();
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(expected_dx[i], dx[i], 1e-6f) << "element " << i << " x = " << x[i];
  }
}

TEST(ReluLayerTest, InPlaceForwardBackward) { CheckReluInPlace(0); }
TEST(ReluLayerTest, InPlaceForwardBackwardLeaky) { CheckReluInPlace(0.1f); }

TEST(ReluLayerTest, InPlaceNegativeSlopeBackwardThrows) {
  Blob blob({4});
  FillGaussian(&blob, 0, 1, 3);
  auto layer = MakeLayer("name: 'odd' type: 'ReLU' relu_param { negative_slope: -1 }");
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  EXPECT_THROW(layer->Backward(blobs, {true}, blobs), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
