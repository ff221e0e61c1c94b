// Table rows and error checks for the Flatten layer.
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Flatten keeps the element order; only the shape changes.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> FlattenReference(
    std::vector<int> expected_shape) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    EXPECT_EQ(expected_shape, top[0]->shape());
    std::vector<float> expected(bottom[0]->cpu_data(),
                                bottom[0]->cpu_data() + bottom[0]->count());
    ExpectBlobNear(expected, *top[0], 0.f);
  };
}

LayerCase FlattenCase(const std::string& name, const std::string& params,
                      std::vector<int> bottom_shape, std::vector<int> top_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'flat' type: 'Flatten' " + params;
  c.bottom_shapes = {bottom_shape};
  c.reference = FlattenReference(top_shape);
  return c;
}

std::vector<LayerCase> FlattenCases() {
  return {
      FlattenCase("Default", "", {2, 3, 4, 5}, {2, 60}),
      FlattenCase("FromAxis2", "flatten_param { axis: 2 }", {2, 3, 4, 5}, {2, 3, 20}),
      FlattenCase("EndAxis2", "flatten_param { end_axis: 2 }", {2, 3, 4, 5}, {2, 12, 5}),
      FlattenCase("NegativeAxes", "flatten_param { axis: -3 end_axis: -2 }", {2, 3, 4, 5},
                  {2, 12, 5}),
      FlattenCase("All", "flatten_param { axis: 0 }", {2, 3, 4}, {24}),
      FlattenCase("SingleAxis", "flatten_param { axis: 1 end_axis: 1 }", {2, 3, 4},
                  {2, 3, 4}),
  };
}

INSTANTIATE_TEST_SUITE_P(Flatten, LayerCaseTest, ::testing::ValuesIn(FlattenCases()),
                         LayerCaseName);

TEST(FlattenLayerTest, TopIsAViewOfTheBottom) {
  Blob bottom({2, 3, 4});
  Blob top;
  auto layer = MakeLayer("name: 'flat' type: 'Flatten'");
  layer->SetUp({&bottom}, {&top});
  EXPECT_EQ(bottom.cpu_data(), top.cpu_data());
  EXPECT_EQ(bottom.cpu_diff(), top.cpu_diff());
}

TEST(FlattenLayerTest, EndBeforeStartThrows) {
  Blob bottom({2, 3, 4});
  Blob top;
  auto layer = MakeLayer("name: 'flat' type: 'Flatten' flatten_param { axis: 2 end_axis: 1 }");
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error);
}

TEST(FlattenLayerTest, AxisOutOfRangeThrows) {
  Blob bottom({2, 3, 4});
  Blob top;
  auto layer = MakeLayer("name: 'flat' type: 'Flatten' flatten_param { axis: 3 }");
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
