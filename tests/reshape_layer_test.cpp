// Table rows and error checks for the Reshape layer.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::function<void(Layer*, const BlobVec&, const BlobVec&)> ReshapeReference(
    std::vector<int> expected_shape) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    EXPECT_EQ(expected_shape, top[0]->shape());
    std::vector<float> expected(bottom[0]->cpu_data(),
                                bottom[0]->cpu_data() + bottom[0]->count());
    ExpectBlobNear(expected, *top[0], 0.f);
  };
}

LayerCase ReshapeCase(const std::string& name, const std::string& params,
                      std::vector<int> bottom_shape, std::vector<int> top_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'reshape' type: 'Reshape' reshape_param { " + params + " }";
  c.bottom_shapes = {bottom_shape};
  c.reference = ReshapeReference(top_shape);
  return c;
}

std::vector<LayerCase> ReshapeCases() {
  return {
      ReshapeCase("Explicit", "shape { dim: 6 dim: 4 }", {2, 3, 4}, {6, 4}),
      ReshapeCase("CopyAndInfer", "shape { dim: 0 dim: -1 }", {2, 3, 4}, {2, 12}),
      ReshapeCase("InferFirst", "shape { dim: -1 dim: 3 dim: 2 }", {2, 3, 4}, {4, 3, 2}),
      ReshapeCase("CopyAll", "shape { dim: 0 dim: 0 dim: 0 }", {2, 3, 4}, {2, 3, 4}),
      ReshapeCase("SplitOneAxis", "shape { dim: 1 dim: 3 } axis: 1 num_axes: 1", {2, 3, 4},
                  {2, 1, 3, 4}),
      ReshapeCase("AppendAxis", "shape { dim: 1 } axis: -1 num_axes: 0", {2, 3, 4},
                  {2, 3, 4, 1}),
      ReshapeCase("PrependAxis", "shape { dim: 1 } axis: 0 num_axes: 0", {2, 3, 4},
                  {1, 2, 3, 4}),
      ReshapeCase("TailInfer", "shape { dim: -1 } axis: 1", {2, 3, 4}, {2, 12}),
      ReshapeCase("MiddleCopyInfer", "shape { dim: 0 dim: -1 } axis: 1 num_axes: 2",
                  {2, 3, 4, 5}, {2, 3, 4, 5}),
  };
}

INSTANTIATE_TEST_SUITE_P(Reshape, LayerCaseTest, ::testing::ValuesIn(ReshapeCases()),
                         LayerCaseName);

void ExpectSetUpThrows(const std::string& params, const std::vector<int>& shape) {
  Blob bottom(shape);
  Blob top;
  auto layer = MakeLayer("name: 'reshape' type: 'Reshape' reshape_param { " + params + " }");
  ASSERT_NE(layer, nullptr);
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error) << params;
}

TEST(ReshapeLayerTest, BadParametersThrow) {
  ExpectSetUpThrows("shape { dim: -1 dim: -1 }", {2, 3});
  ExpectSetUpThrows("shape { dim: 5 }", {2, 3});
  ExpectSetUpThrows("shape { dim: 4 dim: -1 }", {2, 3});
  ExpectSetUpThrows("shape { dim: -2 }", {2, 3});
  ExpectSetUpThrows("shape { dim: 0 dim: 0 } num_axes: 1", {2, 3});
  ExpectSetUpThrows("shape { dim: 1 } axis: 4", {2, 3});
  ExpectSetUpThrows("shape { dim: 1 } axis: 1 num_axes: 2", {2, 3});
}

TEST(ReshapeLayerTest, TopFollowsBottomAfterReshape) {
  Blob bottom({2, 3, 4});
  Blob top;
  auto layer = MakeLayer("name: 'r' type: 'Reshape' reshape_param { shape { dim: 0 dim: -1 } }");
  layer->SetUp({&bottom}, {&top});
  EXPECT_EQ(bottom.cpu_data(), top.cpu_data());
  EXPECT_EQ(bottom.cpu_diff(), top.cpu_diff());
  bottom.Reshape({5, 2, 2});  // grows: new storage
  FillGaussian(&bottom, 0, 1, 3);
  layer->Forward({&bottom}, {&top});
  EXPECT_EQ((std::vector<int>{5, 4}), top.shape());
  EXPECT_EQ(bottom.cpu_data(), top.cpu_data());
  EXPECT_EQ(bottom.cpu_diff(), top.cpu_diff());
}

}  // namespace
}  // namespace testing
}  // namespace cortado
