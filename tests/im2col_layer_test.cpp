// Table rows for the Im2col layer against a naive patch gather.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct Window {
  int kernel_h, kernel_w, stride = 1, pad = 0, dilation = 1;
};

std::function<void(Layer*, const BlobVec&, const BlobVec&)> Im2colReference(Window s) {
  return [s](Layer*, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1), height = in.shape(2),
              width = in.shape(3);
    const int out_h = (height + 2 * s.pad - (s.dilation * (s.kernel_h - 1) + 1)) / s.stride + 1;
    const int out_w = (width + 2 * s.pad - (s.dilation * (s.kernel_w - 1) + 1)) / s.stride + 1;
    const int rows = channels * s.kernel_h * s.kernel_w;
    ASSERT_EQ(top[0]->shape(), (std::vector<int>{num, rows, out_h, out_w}));
    std::vector<float> expected;
    for (int n = 0; n < num; ++n) {
      for (int c = 0; c < channels; ++c) {
        for (int ki = 0; ki < s.kernel_h; ++ki) {
          for (int kj = 0; kj < s.kernel_w; ++kj) {
            for (int oh = 0; oh < out_h; ++oh) {
              for (int ow = 0; ow < out_w; ++ow) {
                const int ih = oh * s.stride - s.pad + ki * s.dilation;
                const int iw = ow * s.stride - s.pad + kj * s.dilation;
                const bool inside = ih >= 0 && ih < height && iw >= 0 && iw < width;
                expected.push_back(
                    inside ? in.cpu_data()[((n * channels + c) * height + ih) * width + iw] : 0.f);
              }
            }
          }
        }
      }
    }
    ExpectBlobNear(expected, *top[0], 0.f);
  };
}

LayerCase Im2colCase(const std::string& name, const std::string& params, Window s,
                     std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'im2col' type: 'Im2col' convolution_param { " + params + " }";
  c.bottom_shapes = {shape};
  c.reference = Im2colReference(s);
  return c;
}

std::vector<LayerCase> Im2colCases() {
  return {
      Im2colCase("Kernel3", "kernel_size: 3", {3, 3}, {2, 2, 5, 4}),
      Im2colCase("StridePad", "kernel_size: 3 stride: 2 pad: 1", {3, 3, 2, 1}, {1, 3, 6, 5}),
      Im2colCase("Rectangular", "kernel_h: 2 kernel_w: 3", {2, 3}, {2, 1, 4, 4}),
      Im2colCase("Dilated", "kernel_size: 2 dilation: 2", {2, 2, 1, 0, 2}, {1, 2, 5, 5}),
  };
}

INSTANTIATE_TEST_SUITE_P(Im2colLayer, LayerCaseTest, ::testing::ValuesIn(Im2colCases()),
                         LayerCaseName);

TEST(Im2colLayerTest, KernelLargerThanInputThrows) {
  Blob in({1, 1, 2, 2}), out;
  auto layer = MakeLayer("name: 'i' type: 'Im2col' convolution_param { kernel_size: 3 }");
  try {
    layer->SetUp({&in}, {&out});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'i'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace testing
}  // namespace cortado
