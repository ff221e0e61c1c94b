// Table rows and index checks for the Embed layer.
#include <string>
#include <vector>

#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

void EmbedReference(Layer* layer, const BlobVec& bottom, const BlobVec& top) {
  const Blob& w = *layer->blobs()[0];
  const int outputs = w.shape(1);
  const bool bias = layer->blobs().size() > 1;
  std::vector<int> shape = bottom[0]->shape();
  shape.push_back(outputs);
  ASSERT_EQ(shape, top[0]->shape());
  std::vector<float> expected;
  for (int64_t i = 0; i < bottom[0]->count(); ++i) {
    const int row = int(bottom[0]->cpu_data()[i]);
    for (int j = 0; j < outputs; ++j) {
      expected.push_back(w.cpu_data()[row * outputs + j] +
                         (bias ? layer->blobs()[1]->cpu_data()[j] : 0.f));
    }
  }
  ExpectBlobNear(expected, *top[0], 1e-6f);
}

LayerCase EmbedCase(const std::string& name, const std::string& params, std::vector<int> shape,
                    int input_dim) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'embed' type: 'Embed' embed_param { input_dim: " +
               std::to_string(input_dim) + " " + params + " }";
  c.bottom_shapes = {shape};
  c.fill = [input_dim](const BlobVec& bottom) { FillLabels(bottom[0], input_dim, 53); };
  c.reference = EmbedReference;
  c.gradient.check_bottoms = false;  // indices have no gradient
  return c;
}

std::vector<LayerCase> EmbedCases() {
  const std::string fillers =
      "weight_filler { type: 'gaussian' } bias_filler { type: 'gaussian' } ";
  return {
      EmbedCase("Bias", "num_output: 5 " + fillers, {4}, 7),
      EmbedCase("NoBias", "num_output: 3 bias_term: false " + fillers, {2, 3}, 4),
      EmbedCase("RepeatedIndices", "num_output: 4 " + fillers, {3, 5}, 2),
  };
}

INSTANTIATE_TEST_SUITE_P(Embed, LayerCaseTest, ::testing::ValuesIn(EmbedCases()),
                         LayerCaseName);

TEST(EmbedLayerTest, ParameterShapes) {
  Blob x({2}), y;
  auto layer = MakeLayer("name: 'e' type: 'Embed' embed_param { num_output: 3 input_dim: 5 }");
  layer->SetUp({&x}, {&y});
  ASSERT_EQ(2u, layer->blobs().size());
  EXPECT_EQ((std::vector<int>{5, 3}), layer->blobs()[0]->shape());
  EXPECT_EQ(std::vector<int>{3}, layer->blobs()[1]->shape());
}

TEST(EmbedLayerTest, BadInputsThrow) {
  Blob x({2}), y;
  auto no_dim = MakeLayer("name: 'e' type: 'Embed' embed_param { num_output: 3 }");
  EXPECT_THROW(no_dim->SetUp({&x}, {&y}), Error);
  auto layer = MakeLayer("name: 'e' type: 'Embed' embed_param { num_output: 3 input_dim: 5 }");
  EXPECT_FALSE(layer->AllowForceBackward(0));
  layer->SetUp({&x}, {&y});
  x.mutable_cpu_data()[1] = 5;
  EXPECT_THROW(layer->Forward({&x}, {&y}), Error);
  x.mutable_cpu_data()[1] = 4;
  layer->Forward({&x}, {&y});
  EXPECT_THROW(layer->Backward({&y}, {true}, {&x}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
