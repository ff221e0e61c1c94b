// The table that drives layer tests: each row is a layer prototxt snippet,
// its input shapes and how to check its forward output. One parametrised
// test (layer_case_test.cpp) runs every row through set-up, forward against
// the row's reference, and the shared gradient checker.
#ifndef CORTADO_TESTS_LAYER_CASE_HPP_
#define CORTADO_TESTS_LAYER_CASE_HPP_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cortado/layer.hpp"
#include "gradient_checker.hpp"

namespace cortado {
namespace testing {

struct LayerCase {
  std::string name;      // gtest-safe: letters, digits, underscores
  std::string prototxt;  // a LayerParameter in text format
  std::vector<std::vector<int>> bottom_shapes;
  // Fills the bottoms; default: gaussian(0, 1) from a fixed seed.
  std::function<void(const BlobVec& bottom)> fill;
  // Asserts the forward output (called after one Forward). Required.
  std::function<void(Layer* layer, const BlobVec& bottom, const BlobVec& top)>
      reference;
  bool check_gradient = true;
  std::vector<int> bottoms_to_check;  // empty: all
  GradientCheckOptions gradient;
  caffe::Phase phase = caffe::TRAIN;
};

inline void PrintTo(const LayerCase& c, std::ostream* os) { *os << c.name; }

class LayerCaseTest : public ::testing::TestWithParam<LayerCase> {};

inline std::string LayerCaseName(const ::testing::TestParamInfo<LayerCase>& info) {
  return info.param.name;
}

// Each table file ends with:
//   INSTANTIATE_TEST_SUITE_P(Relu, LayerCaseTest,
//                            ::testing::ValuesIn(ReluCases()), LayerCaseName);

// Helpers for table rows.
void FillGaussian(Blob* blob, float mean, float stddev, unsigned seed);
void FillUniform(Blob* blob, float low, float high, unsigned seed);
// Integer labels in [0, classes).
void FillLabels(Blob* blob, int classes, unsigned seed);
// Builds a layer from prototxt text (throws on parse errors).
std::unique_ptr<Layer> MakeLayer(const std::string& prototxt,
                                 caffe::Phase phase = caffe::TRAIN);
// Element-wise comparison with a relative/absolute tolerance, naming the index.
void ExpectBlobNear(const std::vector<float>& expected, const Blob& actual,
                    float tolerance = 1e-4f);

}  // namespace testing
}  // namespace cortado

#endif  // CORTADO_TESTS_LAYER_CASE_HPP_
