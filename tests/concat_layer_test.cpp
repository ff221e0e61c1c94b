// Table rows and error checks for the Concat layer.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Naive reference: walk every top index, find which bottom and which of its
// elements it comes from.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> ConcatReference(
    int axis, std::vector<int> expected_shape) {
  return [axis, expected_shape](Layer*, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), expected_shape);
    std::vector<float> expected(top[0]->count());
    const int axes = static_cast<int>(expected_shape.size());
    for (int64_t i = 0; i < top[0]->count(); ++i) {
      // Unravel i into a multi-index over the top shape.
      std::vector<int> index(axes);
      int64_t rest = i;
      for (int a = axes - 1; a >= 0; --a) {
        index[a] = static_cast<int>(rest % expected_shape[a]);
        rest /= expected_shape[a];
      }
      size_t b = 0;
      while (index[axis] >= bottom[b]->shape(axis)) index[axis] -= bottom[b++]->shape(axis);
      int64_t flat = 0;
      for (int a = 0; a < axes; ++a) flat = flat * bottom[b]->shape(a) + index[a];
      expected[i] = bottom[b]->cpu_data()[flat];
    }
    ExpectBlobNear(expected, *top[0], 0);
  };
}

LayerCase ConcatCase(const std::string& name, const std::string& params,
                     std::vector<std::vector<int>> shapes, int axis,
                     std::vector<int> expected_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'concat' type: 'Concat' " + params;
  for (size_t i = 0; i < shapes.size(); ++i) c.prototxt += " bottom: 'b" + std::to_string(i) + "'";
  c.bottom_shapes = std::move(shapes);
  c.reference = ConcatReference(axis, std::move(expected_shape));
  return c;
}

std::vector<LayerCase> ConcatCases() {
  std::vector<LayerCase> cases;
  cases.push_back(ConcatCase("Channels", "", {{2, 3, 4, 5}, {2, 2, 4, 5}, {2, 1, 4, 5}}, 1,
                             {2, 6, 4, 5}));
  cases.push_back(ConcatCase("Axis0", "concat_param { axis: 0 }", {{2, 3, 2}, {1, 3, 2}}, 0,
                             {3, 3, 2}));
  cases.push_back(ConcatCase("AxisMinusOne", "concat_param { axis: -1 }",
                             {{2, 3, 2}, {2, 3, 4}}, 2, {2, 3, 6}));
  cases.push_back(ConcatCase("LegacyConcatDim", "concat_param { concat_dim: 2 }",
                             {{2, 2, 3, 2}, {2, 2, 1, 2}}, 2, {2, 2, 4, 2}));
  cases.push_back(ConcatCase("SingleBottom", "", {{2, 3, 2}}, 1, {2, 3, 2}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Concat, LayerCaseTest, ::testing::ValuesIn(ConcatCases()),
                         LayerCaseName);

TEST(ConcatErrors, MismatchOffTheConcatAxis) {
  auto layer = MakeLayer("name: 'cat' type: 'Concat' bottom: 'a' bottom: 'b'");
  ASSERT_NE(layer, nullptr);
  Blob a(std::vector<int>{2, 3, 4}), b(std::vector<int>{2, 3, 5}), top;
  try {
    layer->SetUp({&a, &b}, {&top});
    FAIL() << "mismatched shapes accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'cat'"), std::string::npos) << message;
    EXPECT_NE(message.find("2 3 5"), std::string::npos) << message;
  }
}

TEST(ConcatErrors, AxisAndConcatDimBoth) {
  auto layer = MakeLayer("name: 'cat' type: 'Concat' concat_param { axis: 1 concat_dim: 1 }");
  ASSERT_NE(layer, nullptr);
  Blob a(std::vector<int>{2, 3}), b(std::vector<int>{2, 3}), top;
  EXPECT_THROW(layer->SetUp({&a, &b}, {&top}), Error);
}

}  // namespace
}  // namespace testing
}  // namespace cortado
