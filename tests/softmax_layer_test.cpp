// Table rows and in-place checks for the Softmax layer.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Naive double-precision softmax of `x` (shape `shape`) along `axis`.
std::vector<float> NaiveSoftmax(const Blob& x, int axis) {
  const int64_t outer = x.count(0, axis);
  const int channels = x.shape(axis);
  const int64_t inner = x.count(axis + 1);
  std::vector<float> y(x.count());
  const float* in = x.cpu_data();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int c) { return (o * channels + c) * inner + i; };
      double max = in[at(0)];
      for (int c = 1; c < channels; ++c) max = std::fmax(max, in[at(c)]);
      double sum = 0;
      for (int c = 0; c < channels; ++c) sum += std::exp(in[at(c)] - max);
      for (int c = 0; c < channels; ++c) {
        y[at(c)] = static_cast<float>(std::exp(in[at(c)] - max) / sum);
      }
    }
  }
  return y;
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> SoftmaxReference(int axis) {
  return [axis](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    ExpectBlobNear(NaiveSoftmax(*bottom[0], bottom[0]->CanonicalAxisIndex(axis)), *top[0],
                   1e-5f);
  };
}

std::vector<LayerCase> SoftmaxCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Channels";
    c.prototxt = "name: 'prob' type: 'Softmax'";
    c.bottom_shapes = {{2, 5, 3, 2}};
    c.reference = SoftmaxReference(1);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "LastAxis";
    c.prototxt = "name: 'prob' type: 'Softmax' softmax_param { axis: -1 }";
    c.bottom_shapes = {{2, 3, 4}};
    c.reference = SoftmaxReference(-1);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "FirstAxis";
    c.prototxt = "name: 'prob' type: 'Softmax' softmax_param { axis: 0 }";
    c.bottom_shapes = {{4, 3}};
    c.reference = SoftmaxReference(0);
    cases.push_back(c);
  }
  {
    // exp(1000) overflows float: only a max-subtracting softmax survives.
    LayerCase c;
    c.name = "LargeLogits";
    c.prototxt = "name: 'prob' type: 'Softmax'";
    c.bottom_shapes = {{3, 4}};
    c.fill = [](const BlobVec& bottom) {
      FillGaussian(bottom[0], 0, 1, 21);
      float* x = bottom[0]->mutable_cpu_data();
      for (int64_t i = 0; i < bottom[0]->count(); ++i) x[i] += 1000.f;
    };
    c.reference = SoftmaxReference(1);
    c.gradient.stepsize = 1e-1f;  // float spacing near 1000 is 6e-5
    c.gradient.threshold = 2e-2f;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Softmax, LayerCaseTest, ::testing::ValuesIn(SoftmaxCases()),
                         LayerCaseName);

TEST(SoftmaxLayerTest, InPlaceForwardBackward) {
  Blob blob({2, 4, 3});
  FillGaussian(&blob, 0, 1, 31);
  Blob original({2, 4, 3});
  std::copy(blob.cpu_data(), blob.cpu_data() + blob.count(), original.mutable_cpu_data());
  const std::vector<float> y = NaiveSoftmax(original, 1);
  auto layer = MakeLayer("name: 'prob' type: 'Softmax'");
  ASSERT_NE(layer, nullptr);
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  layer->Forward(blobs, blobs);
  ExpectBlobNear(y, blob, 1e-5f);

  std::vector<float> dy(blob.count());
  for (size_t i = 0; i < dy.size(); ++i) dy[i] = 0.25f * static_cast<float>(i % 5) - 0.5f;
  std::copy(dy.begin(), dy.end(), blob.mutable_cpu_diff());
  layer->Backward(blobs, {true}, blobs);
  // dx_c = y_c * (dy_c - sum_k dy_k y_k), written out naively.
  for (int n = 0; n < 2; ++n) {
    for (int i = 0; i < 3; ++i) {
      double dot = 0;
      for (int c = 0; c < 4; ++c) dot += dy[(n * 4 + c) * 3 + i] * y[(n * 4 + c) * 3 + i];
      for (int c = 0; c < 4; ++c) {
        const int k = (n * 4 + c) * 3 + i;
        EXPECT_NEAR(y[k] * (dy[k] - dot), blob.cpu_diff()[k], 1e-5) << "element " << k;
      }
    }
  }
}

TEST(SoftmaxLayerTest, AxisOutOfRangeThrows) {
  Blob bottom({2, 3});
  Blob top;
  auto layer = MakeLayer("name: 'prob' type: 'Softmax' softmax_param { axis: 2 }");
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
