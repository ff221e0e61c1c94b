// Table rows and error checks for the InnerProduct layer.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// Naive y[r][o] = sum_k x[r][k] * W(o, k) + b[o], flattening from `axis`.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> InnerProductReference(
    int axis, int outputs, bool transpose, bool bias, std::vector<int> expected_shape) {
  return [=](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), expected_shape);
    const int64_t inputs = bottom[0]->count(axis);
    const int64_t rows = bottom[0]->count(0, axis);
    ASSERT_EQ(layer->blobs().size(), bias ? 2u : 1u);
    const std::vector<int> weight_shape =
        transpose ? std::vector<int>{int(inputs), outputs} : std::vector<int>{outputs, int(inputs)};
    ASSERT_EQ(layer->blobs()[0]->shape(), weight_shape);
    const float* x = bottom[0]->cpu_data();
    const float* w = layer->blobs()[0]->cpu_data();
    std::vector<float> y(rows * outputs);
    for (int64_t r = 0; r < rows; ++r) {
      for (int o = 0; o < outputs; ++o) {
        double sum = bias ? layer->blobs()[1]->cpu_data()[o] : 0.0;
        for (int64_t k = 0; k < inputs; ++k) {
          sum += double(x[r * inputs + k]) * (transpose ? w[k * outputs + o] : w[o * inputs + k]);
        }
        y[r * outputs + o] = static_cast<float>(sum);
      }
    }
    ExpectBlobNear(y, *top[0], 1e-5f);
  };
}

LayerCase IpCase(const std::string& name, const std::string& params, std::vector<int> shape,
                 int axis, int outputs, bool transpose, bool bias,
                 std::vector<int> expected_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'ip' type: 'InnerProduct' inner_product_param { num_output: " +
               std::to_string(outputs) + " " + params +
               " weight_filler { type: 'gaussian' std: 0.5 }"
               " bias_filler { type: 'uniform' min: -1 max: 1 } }";
  c.bottom_shapes = {std::move(shape)};
  c.reference = InnerProductReference(axis, outputs, transpose, bias, std::move(expected_shape));
  return c;
}

std::vector<LayerCase> InnerProductCases() {
  std::vector<LayerCase> cases;
  cases.push_back(IpCase("Basic", "", {2, 3, 2, 2}, 1, 4, false, true, {2, 4}));
  cases.push_back(IpCase("Transpose", "transpose: true", {2, 3, 2, 2}, 1, 4, true, true, {2, 4}));
  cases.push_back(IpCase("NoBias", "bias_term: false", {3, 5}, 1, 2, false, false, {3, 2}));
  cases.push_back(IpCase("Axis2", "axis: 2", {2, 3, 4}, 2, 3, false, true, {2, 3, 3}));
  cases.push_back(IpCase("AxisMinusOneTranspose", "axis: -1 transpose: true", {2, 2, 3}, 2, 2,
                         true, true, {2, 2, 2}));
  cases.push_back(IpCase("Axis0", "axis: 0", {2, 3}, 0, 3, false, true, {3}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(InnerProduct, LayerCaseTest, ::testing::ValuesIn(InnerProductCases()),
                         LayerCaseName);

TEST(InnerProductErrors, ReshapeToDifferentInputSize) {
  auto layer = MakeLayer("name: 'fc' type: 'InnerProduct' inner_product_param { num_output: 2 }");
  ASSERT_NE(layer, nullptr);
  Blob bottom(std::vector<int>{2, 6}), top;
  layer->SetUp({&bottom}, {&top});
  bottom.Reshape({2, 5});
  try {
    layer->Forward({&bottom}, {&top});
    FAIL() << "expected an error for 5 inputs into a 6-input layer";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("'fc'"), std::string::npos) << message;
    EXPECT_NE(message.find("expect 6"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
