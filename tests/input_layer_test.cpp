// Table rows and error checks for the Input layer.
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

std::function<void(Layer*, const BlobVec&, const BlobVec&)> ShapesAre(
    std::vector<std::vector<int>> shapes) {
  return [=](Layer*, const BlobVec& bottom, const BlobVec& top) {
    EXPECT_TRUE(bottom.empty());
    ASSERT_EQ(shapes.size(), top.size());
    for (size_t i = 0; i < top.size(); ++i) EXPECT_EQ(shapes[i], top[i]->shape()) << "top " << i;
  };
}

LayerCase InputCase(const std::string& name, const std::string& prototxt,
                    std::vector<std::vector<int>> shapes) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'input' type: 'Input' " + prototxt;
  c.reference = ShapesAre(shapes);
  c.check_gradient = false;  // no backward
  return c;
}

std::vector<LayerCase> InputCases() {
  return {
      InputCase("OneTop", "top: 'data' input_param { shape { dim: 2 dim: 3 dim: 4 dim: 5 } }",
                {{2, 3, 4, 5}}),
      InputCase("ShapePerTop",
                "top: 'data' top: 'label' "
                "input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } }",
                {{2, 3}, {2}}),
      InputCase("OneShapeForAllTops",
                "top: 'a' top: 'b' top: 'c' input_param { shape { dim: 4 dim: 1 } }",
                {{4, 1}, {4, 1}, {4, 1}}),
  };
}

INSTANTIATE_TEST_SUITE_P(Input, LayerCaseTest, ::testing::ValuesIn(InputCases()),
                         LayerCaseName);

TEST(InputLayerTest, ShapeCountMustMatchTops) {
  Blob a, b, c;
  auto layer = MakeLayer(
      "name: 'input' type: 'Input' input_param { shape { dim: 1 } shape { dim: 2 } }");
  EXPECT_THROW(layer->SetUp({}, {&a, &b, &c}), Error);
}

TEST(InputLayerTest, RefusesBottoms) {
  Blob bottom({2});
  Blob top;
  auto layer = MakeLayer("name: 'input' type: 'Input' input_param { shape { dim: 1 } }");
  EXPECT_THROW(layer->SetUp({&bottom}, {&top}), Error);
}

TEST(InputLayerTest, NoShapeKeepsCallerShape) {
  Blob top({3, 7});
  auto layer = MakeLayer("name: 'input' type: 'Input'");
  layer->SetUp({}, {&top});
  layer->Forward({}, {&top});
  EXPECT_EQ((std::vector<int>{3, 7}), top.shape());
}

}  // namespace
}  // namespace testing
}  // namespace cortado
