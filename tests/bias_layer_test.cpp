// Table rows for the Bias layer.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

// y = x + b[j], j indexing axes [axis, axis + b.num_axes()) of x.
std::function<void(Layer*, const BlobVec&, const BlobVec&)> BiasReference(
    int axis, std::vector<int> bias_shape) {
  return [=](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    ASSERT_EQ(top[0]->shape(), bottom[0]->shape());
    const Blob& bias = bottom.size() > 1 ? *bottom[1] : *layer->blobs()[0];
    ASSERT_EQ(bias.shape(), bias_shape);
    const Blob& x = *bottom[0];
    std::vector<float> y(x.count());
    for (int64_t i = 0; i < x.count(); ++i) {
      int64_t rest = i, j = 0, stride = 1;
      for (int a = x.num_axes() - 1; a >= 0; --a) {
        const int index = static_cast<int>(rest % x.shape(a));
        rest /= x.shape(a);
        if (a >= axis && a < axis + bias.num_axes()) {
          j += index * stride;
          stride *= x.shape(a);
        }
      }
      y[i] = x.cpu_data()[i] + bias.cpu_data()[j];
    }
    ExpectBlobNear(y, *top[0], 1e-6f);
  };
}

LayerCase BiasCase(const std::string& name, const std::string& params,
                   std::vector<std::vector<int>> shapes, int axis, std::vector<int> bias_shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'bias' type: 'Bias' bias_param { " + params + " }";
  if (shapes.size() > 1) c.prototxt += " bottom: 'x' bottom: 'b'";
  c.bottom_shapes = std::move(shapes);
  c.reference = BiasReference(axis, std::move(bias_shape));
  return c;
}

std::vector<LayerCase> BiasCases() {
  std::vector<LayerCase> cases;
  const std::string filler = " filler { type: 'gaussian' }";
  cases.push_back(BiasCase("LearnedChannels", filler, {{2, 3, 4, 5}}, 1, {3}));
  cases.push_back(BiasCase("LearnedTwoAxesFromZero", "axis: 0 num_axes: 2" + filler,
                           {{2, 3, 4}}, 0, {2, 3}));
  cases.push_back(BiasCase("LearnedToEnd", "axis: -2 num_axes: -1" + filler, {{2, 3, 4}}, 1,
                           {3, 4}));
  cases.push_back(BiasCase("LearnedScalar", "num_axes: 0" + filler, {{2, 3}}, 0, {}));
  cases.push_back(BiasCase("SecondBottom", "", {{2, 3, 4, 5}, {3, 4}}, 1, {3, 4}));
  cases.push_back(BiasCase("SecondBottomAxis2", "axis: 2", {{2, 3, 4, 5}, {4}}, 2, {4}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Bias, LayerCaseTest, ::testing::ValuesIn(BiasCases()), LayerCaseName);

}  // namespace
}  // namespace testing
}  // namespace cortado
