// Table rows and statistics checks for the BatchNorm layer.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Per-channel mean and biased variance over every axis but 1, naively.
void ChannelMoments(const Blob& x, std::vector<double>* mean, std::vector<double>* var) {
  const int num = x.shape(0), channels = x.num_axes() > 1 ? x.shape(1) : 1;
  const int64_t spatial = x.count() / (int64_t(num) * channels);
  mean->assign(channels, 0);
  var->assign(channels, 0);
  for (int64_t i = 0; i < x.count(); ++i) (*mean)[(i / spatial) % channels] += x.cpu_data()[i];
  for (double& m : *mean) m /= double(num) * spatial;
  for (int64_t i = 0; i < x.count(); ++i) {
    const int c = (i / spatial) % channels;
    (*var)[c] += (x.cpu_data()[i] - (*mean)[c]) * (x.cpu_data()[i] - (*mean)[c]);
  }
  for (double& v : *var) v /= double(num) * spatial;
}

std::vector<float> Normalize(const Blob& x, const std::vector<double>& mean,
                             const std::vector<double>& var, double eps) {
  const int channels = static_cast<int>(mean.size());
  const int64_t spatial = x.count() / (int64_t(x.shape(0)) * channels);
  std::vector<float> y(x.count());
  for (int64_t i = 0; i < x.count(); ++i) {
    const int c = (i / spatial) % channels;
    y[i] = static_cast<float>((x.cpu_data()[i] - mean[c]) / std::sqrt(var[c] + eps));
  }
  return y;
}

// Batch statistics: normalized output, and the running sums after exactly
// one forward pass (weight 1, mean, variance with the m/(m-1) correction).
std::function<void(Layer*, const BlobVec&, const BlobVec&)> TrainReference(double eps) {
  return [eps](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    std::vector<double> mean, var;
    ChannelMoments(*bottom[0], &mean, &var);
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    ExpectBlobNear(Normalize(*bottom[0], mean, var, eps), *top[0], 1e-4f);
    ASSERT_EQ(layer->blobs().size(), 3u);
    const double m = double(bottom[0]->count()) / mean.size();
    std::vector<float> unbiased;
    for (double v : var) unbiased.push_back(static_cast<float>(v * m / (m - 1)));
    ExpectBlobNear(std::vector<float>(mean.begin(), mean.end()), *layer->blobs()[0], 1e-5f);
    ExpectBlobNear(unbiased, *layer->blobs()[1], 1e-5f);
    ExpectBlobNear({1.f}, *layer->blobs()[2], 0);
    for (int i = 0; i < 3; ++i) {
      EXPECT_FALSE(layer->param_propagate_down(i)) << i;
      ASSERT_GT(layer->layer_param().param_size(), i);
      EXPECT_EQ(layer->layer_param().param(i).lr_mult(), 0.f) << i;
    }
  };
}

// Stored sums (2, 4, -2), (3, 1, 6) with weight 2: mean (1, 2, -1) and
// variance (1.5, 0.5, 3).
const char* kStoredStats =
    " blobs { shape { dim: 3 } data: 2 data: 4 data: -2 }"
    " blobs { shape { dim: 3 } data: 3 data: 1 data: 6 }"
    " blobs { shape { dim: 1 } data: 2 }";

std::function<void(Layer*, const BlobVec&, const BlobVec&)> GlobalReference(double eps) {
  return [eps](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ExpectBlobNear(Normalize(*bottom[0], {1, 2, -1}, {1.5, 0.5, 3}, eps), *top[0], 1e-5f);
    // Global statistics are read, never updated.
    ExpectBlobNear({2.f}, *layer->blobs()[2], 0);
  };
}

// A training case with batch statistics on a bottom of `shape`.
LayerCase TrainCase(const std::string& name, std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'bn' type: 'BatchNorm'";
  c.bottom_shapes = {std::move(shape)};
  c.reference = TrainReference(1e-5);
  return c;
}

std::vector<LayerCase> BatchNormCases() {
  std::vector<LayerCase> cases;
  cases.push_back(TrainCase("TrainBatchStats", {2, 3, 4, 5}));
  // Planes of 323 values take the blocked float sums (a block of 256, one
  // of 64, a tail of 3) forward and backward; 9 channels, the map in the
  // sums' pass (3 channels take a pass of their own on 2 threads).
  cases.push_back(TrainCase("TrainLargePlanes", {2, 9, 19, 17}));
  {
    // A mean of 50 and a spread of 0.5: summing squares without the shift
    // by a sample value would lose the variance to cancellation. No
    // gradient check: in float, central differences at 50 carry an error
    // of about 1e-2 whatever the layer computes.
    LayerCase c = TrainCase("TrainFarFromZero", {2, 3, 19, 17});
    c.fill = [](const BlobVec& bottom) { FillGaussian(bottom[0], 50, 0.5, 7); };
    c.check_gradient = false;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TrainTwoAxes";
    c.prototxt = "name: 'bn' type: 'BatchNorm' batch_norm_param { eps: 0.01 }";
    c.bottom_shapes = {{6, 3}};
    c.reference = TrainReference(0.01);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TestPhaseUsesStoredStats";
    c.prototxt = std::string("name: 'bn' type: 'BatchNorm'") + kStoredStats;
    c.bottom_shapes = {{2, 3, 3, 2}};
    c.reference = GlobalReference(1e-5);
    c.phase = caffe::TEST;
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TrainWithUseGlobalStats";
    c.prototxt = std::string("name: 'bn' type: 'BatchNorm' batch_norm_param { "
                             "use_global_stats: true eps: 0.1 }") + kStoredStats;
    c.bottom_shapes = {{2, 3, 2, 2}};
    c.reference = GlobalReference(0.1);
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "TestPhaseWithBatchStats";
    c.prototxt = "name: 'bn' type: 'BatchNorm' batch_norm_param { use_global_stats: false }";
    c.bottom_shapes = {{3, 2, 2, 3}};
    c.reference = TrainReference(1e-5);
    c.phase = caffe::TEST;
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(BatchNorm, LayerCaseTest, ::testing::ValuesIn(BatchNormCases()),
                         LayerCaseName);

TEST(BatchNormStats, MovingAverageAccumulates) {
  auto layer = MakeLayer(
      "name: 'bn' type: 'BatchNorm' batch_norm_param { moving_average_fraction: 0.5 }");
  ASSERT_NE(layer, nullptr);
  Blob x(std::vector<int>{4, 2, 3}), y;
  FillGaussian(&x, 1, 2, 3);
  layer->SetUp({&x}, {&y});
  layer->Forward({&x}, {&y});
  layer->Forward({&x}, {&y});
  std::vector<double> mean, var;
  ChannelMoments(x, &mean, &var);
  // Two passes over the same batch: sums are (0.5 + 1) * stat, weight 1.5.
  const double m = 12;
  ExpectBlobNear({float(1.5 * mean[0]), float(1.5 * mean[1])}, *layer->blobs()[0], 1e-5f);
  ExpectBlobNear({float(1.5 * var[0] * m / (m - 1)), float(1.5 * var[1] * m / (m - 1))},
                 *layer->blobs()[1], 1e-5f);
  ExpectBlobNear({1.5f}, *layer->blobs()[2], 0);
}

// Found by the net fuzzer: a batch of 0 divided by zero in Reshape.
TEST(BatchNormShapes, EmptyBatchSetsUpAndRuns) {
  auto layer = MakeLayer("name: 'bn' type: 'BatchNorm'");
  ASSERT_NE(layer, nullptr);
  Blob x(std::vector<int>{0, 3, 2, 2}), y;
  layer->SetUp({&x}, {&y});
  EXPECT_EQ(y.shape(), x.shape());
  layer->Forward({&x}, {&y});
  EXPECT_EQ(y.count(), 0);
  // The running statistics are untouched, not 0/0.
  ExpectBlobNear({0.f, 0.f, 0.f}, *layer->blobs()[0], 0);
  ExpectBlobNear({0.f}, *layer->blobs()[2], 0);
}

TEST(BatchNormErrors, LearnableStatsRejected) {
  auto layer = MakeLayer("name: 'bn' type: 'BatchNorm' param { lr_mult: 1 }");
  ASSERT_NE(layer, nullptr);
  Blob x(std::vector<int>{2, 3}), y;
  EXPECT_THROW(layer->SetUp({&x}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
