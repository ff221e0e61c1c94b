// Table rows and in-place checks for the Dropout layer.
#include <cmath>
#include <vector>

#include "cortado/layer.hpp"
#include "cortado/rng.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Training: every output is either 0 or x * kept_scale, and the dropped
// fraction is near `ratio`.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> TrainReference(float ratio,
                                                                           float kept_scale) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    const float* x = bottom[0]->cpu_data();
    const float* y = top[0]->cpu_data();
    int64_t dropped = 0;
    for (int64_t i = 0; i < bottom[0]->count(); ++i) {
      if (y[i] == 0.f) {
        ++dropped;
      } else {
        EXPECT_NEAR(x[i] * kept_scale, y[i], 1e-5f * std::fabs(y[i])) << "element " << i;
      }
    }
    const double fraction = double(dropped) / bottom[0]->count();
    EXPECT_NEAR(ratio, fraction, 0.06) << "dropped " << dropped << " of " << bottom[0]->count();
  };
}

std::function<void(Layer*, const BlobVec&, const BlobVec&)> TestReference(float scale) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    std::vector<float> expected(bottom[0]->count());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = bottom[0]->cpu_data()[i] * scale;
    ExpectBlobNear(expected, *top[0], 1e-6f);
  };
}

// Seeds the global RNG too, so the forward pass the reference sees draws a
// fixed mask and the dropped-fraction check cannot flake.
void FillAndSeed(const BlobVec& bottom) {
  FillGaussian(bottom[0], 0, 1, 60);
  SetRandomSeed(77);
}

std::vector<LayerCase> DropoutCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "TrainHalf";
    c.prototxt = "name: 'drop' type: 'Dropout'";
    c.bottom_shapes = {{4, 250}};
    c.fill = FillAndSeed;
    c.reference = TrainReference(0.5f, 2.f);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TrainRatio02";
    c.prototxt = "name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.2 }";
    c.bottom_shapes = {{2, 10, 50}};
    c.fill = FillAndSeed;
    c.reference = TrainReference(0.2f, 1.25f);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TrainUnscaled";
    c.prototxt =
        "name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.3 scale_train: false }";
    c.bottom_shapes = {{1000}};
    c.fill = FillAndSeed;
    c.reference = TrainReference(0.3f, 1.f);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TestPassesThrough";
    c.prototxt = "name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.7 }";
    c.bottom_shapes = {{3, 4, 5}};
    c.reference = TestReference(1.f);
    c.phase = caffe::TEST;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TestUnscaledTrain";
    c.prototxt =
        "name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.25 scale_train: false }";
    c.bottom_shapes = {{3, 4, 5}};
    c.reference = TestReference(0.75f);
    c.phase = caffe::TEST;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Dropout, LayerCaseTest, ::testing::ValuesIn(DropoutCases()),
                         LayerCaseName);

TEST(DropoutLayerTest, InPlaceForwardBackward) {
  Blob blob({5, 40});
  FillGaussian(&blob, 0, 1, 61);
  const std::vector<float> x(blob.cpu_data(), blob.cpu_data() + blob.count());
  auto layer = MakeLayer("name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 0.4 }");
  ASSERT_NE(layer, nullptr);
  BlobVec blobs = {&blob};
  layer->SetUp(blobs, blobs);
  SetRandomSeed(5);
  layer->Forward(blobs, blobs);
  std::vector<bool> kept(x.size());
  int kept_count = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float y = blob.cpu_data()[i];
    kept[i] = y != 0.f;
    kept_count += kept[i];
    if (kept[i]) {
      EXPECT_NEAR(x[i] / 0.6f, y, 1e-5f);
    }
  }
  EXPECT_GT(kept_count, 0);
  EXPECT_LT(kept_count, static_cast<int>(x.size()));

  for (size_t i = 0; i < x.size(); ++i) blob.mutable_cpu_diff()[i] = 1.f + 0.01f * i;
  layer->Backward(blobs, {true}, blobs);
  for (size_t i = 0; i < x.size(); ++i) {
    const float expected = kept[i] ? (1.f + 0.01f * i) / 0.6f : 0.f;
    EXPECT_NEAR(expected, blob.cpu_diff()[i], 1e-5f) << "element " << i;
  }
}

TEST(DropoutLayerTest, SameSeedSameMask) {
  Blob bottom({100});
  Blob top_a, top_b;
  FillGaussian(&bottom, 0, 1, 62);
  auto layer = MakeLayer("name: 'drop' type: 'Dropout'");
  layer->SetUp({&bottom}, {&top_a});
  SetRandomSeed(9);
  layer->Forward({&bottom}, {&top_a});
  SetRandomSeed(9);
  layer->Forward({&bottom}, {&top_b});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(top_a.cpu_data()[i], top_b.cpu_data()[i]);
  // The mask is real: with ratio 0.5, each element is dropped or doubled and
  // some of each happen (all-or-none has probability 2^-99).
  int dropped = 0;
  for (int i = 0; i < 100; ++i) {
    const float x = bottom.cpu_data()[i], y = top_a.cpu_data()[i];
    if (y == 0.f) {
      ++dropped;
    } else {
      EXPECT_FLOAT_EQ(y, 2.f * x) << i;
    }
  }
  EXPECT_GT(dropped, 10);
  EXPECT_LT(dropped, 90);
  // And it depends on the seed.
  Blob top_c;
  SetRandomSeed(10);
  layer->Forward({&bottom}, {&top_c});
  int differ = 0;
  for (int i = 0; i < 100; ++i) differ += top_a.cpu_data()[i] != top_c.cpu_data()[i];
  EXPECT_GT(differ, 0);
}

TEST(DropoutLayerTest, RatioOfOneThrows) {
  Blob bottom({4});
  Blob top;
  auto layer = MakeLayer("name: 'drop' type: 'Dropout' dropout_param { dropout_ratio: 1 }");
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
