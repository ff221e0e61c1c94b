// Table rows and loading checks for the Parameter layer.
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// The top is the parameter blob itself, shaped by parameter_param.shape.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> ParameterReference(
    std::vector<int> shape) {
  return [shape](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(1u, layer->blobs().size());
    const Blob& param = *layer->blobs()[0];
    EXPECT_EQ(shape, param.shape());
    EXPECT_EQ(shape, top[0]->shape());
    // Distinct values, to tell a view from a stale copy.
    FillGaussian(layer->blobs()[0].get(), 0, 1, 47);
    ExpectBlobNear(std::vector<float>(param.cpu_data(), param.cpu_data() + param.count()),
                   *top[0], 0);
  };
}

std::vector<LayerCase> ParameterCases() {
  std::vector<LayerCase> cases;
  {
    LayerCase c;
    c.name = "Matrix";
    c.prototxt = "name: 'p' type: 'Parameter' parameter_param { shape { dim: 3 dim: 4 } }";
    c.reference = ParameterReference({3, 4});
    cases.push_back(c);
  }
  {
    LayerCase c;
    c.name = "FourAxes";
    c.prototxt =
        "name: 'p' type: 'Parameter' parameter_param { shape { dim: 2 dim: 1 dim: 3 dim: 2 } }";
    c.reference = ParameterReference({2, 1, 3, 2});
    cases.push_back(c);
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Parameter, LayerCaseTest, ::testing::ValuesIn(ParameterCases()),
                         LayerCaseName);

TEST(ParameterLayerTest, StartsAtZeroAndKeepsLoadedValues) {
  Blob y;
  auto fresh = MakeLayer("name: 'p' type: 'Parameter' parameter_param { shape { dim: 3 } }");
  fresh->SetUp({}, {&y});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(0.f, y.cpu_data()[i]);
  auto loaded = MakeLayer(
      "name: 'p' type: 'Parameter' parameter_param { shape { dim: 3 } } "
      "blobs { shape { dim: 3 } data: 1 data: 2 data: 3 }");
  loaded->SetUp({}, {&y});
  loaded->Forward({}, {&y});
  EXPECT_EQ(2.f, y.cpu_data()[1]);
  auto wrong = MakeLayer(
      "name: 'p' type: 'Parameter' parameter_param { shape { dim: 2 } } "
      "blobs { shape { dim: 3 } data: 1 data: 2 data: 3 }");
  EXPECT_THROW(wrong->SetUp({}, {&y}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
