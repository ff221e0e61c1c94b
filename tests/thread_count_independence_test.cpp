// The layers that split their work over the process's threads give the same
// bits with one thread and with several: every element and every reduction
// is computed in an order that does not depend on the split. Inputs are big
// enough (> kElementGrain elements) that the parallel paths run.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/layer.hpp"
#include "cortado/math.hpp"
#include "cortado/parallel.hpp"
#include "cortado/rng.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct Case {
  std::string name;
  std::string prototxt;
  std::vector<int> shape;
  int bottoms = 1;
};

struct Result {
  std::vector<float> top, bottom_diff, param_diff;
};

// Forward and backward of a fresh layer with `threads` threads.
Result RunLayer(const Case& c, int threads) {
  SetNumThreads(threads);
  std::vector<std::unique_ptr<Blob>> bottoms;
  BlobVec bottom;
  for (int i = 0; i < c.bottoms; ++i) {
    bottoms.push_back(std::make_unique<Blob>(c.shape));
    FillGaussian(bottoms.back().get(), 0.5f, 1, 90 + i);
    bottom.push_back(bottoms.back().get());
  }
  Blob top_blob;
  BlobVec top = {&top_blob};
  SetRandomSeed(3);  // the same filled parameters for every run
  auto layer = MakeLayer(c.prototxt);
  layer->SetUp(bottom, top);
  SetRandomSeed(4);  // the same Dropout mask
  layer->Forward(bottom, top);
  Result result;
  result.top.assign(top_blob.cpu_data(), top_blob.cpu_data() + top_blob.count());
  for (int64_t i = 0; i < top_blob.count(); ++i) {
    top_blob.mutable_cpu_diff()[i] = 0.01f * static_cast<float>(i % 97) - 0.4f;
  }
  for (const auto& blob : layer->blobs()) Set(blob->count(), 0.f, blob->mutable_cpu_diff());
  layer->Backward(top, std::vector<bool>(bottom.size(), true), bottom);
  for (Blob* b : bottom) {
    result.bottom_diff.insert(result.bottom_diff.end(), b->cpu_diff(), b->cpu_diff() + b->count());
  }
  for (const auto& blob : layer->blobs()) {
    result.param_diff.insert(result.param_diff.end(), blob->cpu_diff(),
                             blob->cpu_diff() + blob->count());
  }
  SetNumThreads(0);
  return result;
}

class ThreadCountIndependenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ThreadCountIndependenceTest, OneThreadAndFourGiveTheSameBits) {
  const Result one = RunLayer(GetParam(), 1);
  const Result four = RunLayer(GetParam(), 4);
  ASSERT_FALSE(one.top.empty());
  EXPECT_EQ(one.top, four.top);
  EXPECT_EQ(one.bottom_diff, four.bottom_diff);
  EXPECT_EQ(one.param_diff, four.param_diff);
}

const std::vector<int> kShape = {2, 24, 40, 40};  // 76,800 elements

INSTANTIATE_TEST_SUITE_P(
    Layers, ThreadCountIndependenceTest,
    ::testing::Values(
        Case{"ReLU", "name: 'l' type: 'ReLU' relu_param { negative_slope: 0.1 }", kShape},
        Case{"Sigmoid", "name: 'l' type: 'Sigmoid'", kShape},
        Case{"ELU", "name: 'l' type: 'ELU'", kShape},
        Case{"Power", "name: 'l' type: 'Power' power_param { power: 2 scale: 0.5 shift: 1 }",
             kShape},
        Case{"Swish", "name: 'l' type: 'Swish'", kShape},
        Case{"Dropout", "name: 'l' type: 'Dropout' dropout_param { dropout_ratio: 0.3 }", kShape},
        Case{"Scale", "name: 'l' type: 'Scale' scale_param { bias_term: true "
                      "filler { type: 'gaussian' } bias_filler { type: 'gaussian' } }", kShape},
        Case{"Bias", "name: 'l' type: 'Bias' bias_param { filler { type: 'gaussian' } }", kShape},
        Case{"BatchNorm", "name: 'l' type: 'BatchNorm'", kShape},
        Case{"EltwiseMax", "name: 'l' type: 'Eltwise' eltwise_param { operation: MAX }", kShape, 3},
        Case{"EltwiseSum", "name: 'l' type: 'Eltwise' eltwise_param { coeff: 1 coeff: -2 }",
             kShape, 2},
        Case{"Softmax", "name: 'l' type: 'Softmax'", kShape},
        Case{"SoftmaxOneImage", "name: 'l' type: 'Softmax'", {1, 8, 100, 100}},
        Case{"LRNAcross", "name: 'l' type: 'LRN' lrn_param { local_size: 5 alpha: 0.1 }", kShape},
        Case{"LRNWithin", "name: 'l' type: 'LRN' lrn_param { local_size: 3 alpha: 0.1 "
                          "norm_region: WITHIN_CHANNEL }", kShape}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

}  // namespace
}  // namespace testing
}  // namespace cortado
