// Table rows for the Deconvolution layer against a naive scatter: every input
// pixel adds weight * value into the output window it maps to.
#include <string>
#include <vector>

#include "cortado/layer.hpp"
#include "layer_case.hpp"

namespace cortado {
namespace testing {
namespace {

struct DeconvSpec {
  int kernel = 3, stride = 1, pad = 0, dilation = 1, group = 1, num_output = 2;
  bool bias = true;
};

std::function<void(Layer*, const BlobVec&, const BlobVec&)> DeconvReference(DeconvSpec s) {
  return [s](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int num = in.shape(0), channels = in.shape(1), height = in.shape(2),
              width = in.shape(3);
    const int out_h = s.stride * (height - 1) + s.dilation * (s.kernel - 1) + 1 - 2 * s.pad;
    const int out_w = s.stride * (width - 1) + s.dilation * (s.kernel - 1) + 1 - 2 * s.pad;
    ASSERT_EQ(top[0]->shape(), (std::vector<int>{num, s.num_output, out_h, out_w}));
    const float* w = layer->blobs()[0]->cpu_data();
    const int in_per_group = channels / s.group, out_per_group = s.num_output / s.group;
    std::vector<float> expected(top[0]->count(), 0.f);
    for (int n = 0; n < num; ++n) {
      for (int c = 0; c < channels; ++c) {
        const int g = c / in_per_group;
        for (int ih = 0; ih < height; ++ih) {
          for (int iw = 0; iw < width; ++iw) {
            const float x = in.cpu_data()[((n * channels + c) * height + ih) * width + iw];
            for (int o = 0; o < out_per_group; ++o) {
              const int m = g * out_per_group + o;
              for (int ki = 0; ki < s.kernel; ++ki) {
                for (int kj = 0; kj < s.kernel; ++kj) {
                  const int oh = ih * s.stride - s.pad + ki * s.dilation;
                  const int ow = iw * s.stride - s.pad + kj * s.dilation;
                  if (oh < 0 || oh >= out_h || ow < 0 || ow >= out_w) continue;
                  const float weight = w[((c * out_per_group + o) * s.kernel + ki) * s.kernel + kj];
                  expected[((n * s.num_output + m) * out_h + oh) * out_w + ow] += weight * x;
                }
              }
            }
          }
        }
      }
    }
    if (s.bias) {
      const float* b = layer->blobs()[1]->cpu_data();
      for (size_t i = 0; i < expected.size(); ++i) {
        expected[i] += b[(i / (out_h * out_w)) % s.num_output];
      }
    }
    ExpectBlobNear(expected, *top[0], 1e-4f);
  };
}

LayerCase DeconvCase(const std::string& name, DeconvSpec s, std::vector<int> shape) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'deconv' type: 'Deconvolution' convolution_param { num_output: " +
               std::to_string(s.num_output) + " kernel_size: " + std::to_string(s.kernel) +
               " stride: " + std::to_string(s.stride) + " pad: " + std::to_string(s.pad) +
               " dilation: " + std::to_string(s.dilation) + " group: " + std::to_string(s.group) +
               " bias_term: " + (s.bias ? "true" : "false") +
               " weight_filler { type: 'gaussian' std: 0.5 }"
               " bias_filler { type: 'uniform' min: -1 max: 1 } }";
  c.bottom_shapes = {shape};
  c.reference = DeconvReference(s);
  return c;
}

std::vector<LayerCase> DeconvCases() {
  std::vector<LayerCase> cases;
  cases.push_back(DeconvCase("Simple", {}, {2, 3, 4, 5}));
  DeconvSpec upsample;
  upsample.kernel = 4;
  upsample.stride = 2;
  upsample.pad = 1;  // the usual 2x upsampling (FCN) geometry
  cases.push_back(DeconvCase("StridedUpsample", upsample, {1, 2, 3, 3}));
  DeconvSpec grouped;
  grouped.group = 2;
  grouped.num_output = 4;
  grouped.bias = false;
  grouped.dilation = 2;
  cases.push_back(DeconvCase("GroupedDilatedNoBias", grouped, {2, 4, 3, 4}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Deconvolution, LayerCaseTest, ::testing::ValuesIn(DeconvCases()),
                         LayerCaseName);

// N-d deconvolution against the same naive scatter over any number of
// spatial axes (per-axis window, channels at axis 1).
struct NdSpec {
  std::vector<int> kernel, stride, pad, dilation;
  int group = 1, num_output = 2;
};

// Row-major odometer over `extent`; returns false after the last index.
bool Advance(const std::vector<int>& extent, std::vector<int>* index) {
  for (int a = static_cast<int>(extent.size()) - 1; a >= 0; --a) {
    if (++(*index)[a] < extent[a]) return true;
    (*index)[a] = 0;
  }
  return false;
}

LayerCase NdDeconvCase(const std::string& name, const std::string& params,
                       std::vector<int> shape, NdSpec s) {
  LayerCase c;
  c.name = name;
  c.prototxt = "name: 'deconv' type: 'Deconvolution' convolution_param { num_output: " +
               std::to_string(s.num_output) + " " + params +
               " weight_filler { type: 'gaussian' std: 0.5 }"
               " bias_filler { type: 'uniform' min: -1 max: 1 } }";
  c.bottom_shapes = {shape};
  c.reference = [s](Layer* layer, const BlobVec& bottom, const BlobVec& top) {
    const Blob& in = *bottom[0];
    const int axes = static_cast<int>(s.kernel.size());
    const int num = in.shape(0), channels = in.shape(1);
    const std::vector<int> input(in.shape().begin() + 2, in.shape().end());
    std::vector<int> output(axes), top_shape{num, s.num_output};
    int64_t out_spatial = 1, taps = 1;
    for (int a = 0; a < axes; ++a) {
      output[a] = s.stride[a] * (input[a] - 1) + s.dilation[a] * (s.kernel[a] - 1) + 1 -
                  2 * s.pad[a];
      top_shape.push_back(output[a]);
      out_spatial *= output[a];
      taps *= s.kernel[a];
    }
    ASSERT_EQ(top[0]->shape(), top_shape);
    const int in_per_group = channels / s.group, out_per_group = s.num_output / s.group;
    const float* w = layer->blobs()[0]->cpu_data();
    const float* b = layer->blobs()[1]->cpu_data();
    std::vector<float> expected(top[0]->count(), 0.f);
    const float* x = in.cpu_data();
    for (int n = 0; n < num; ++n) {
      for (int c = 0; c < channels; ++c) {
        std::vector<int> i(axes, 0);
        do {
          const float value = *x++;
          for (int o = 0; o < out_per_group; ++o) {
            const int m = c / in_per_group * out_per_group + o;
            std::vector<int> k(axes, 0);
            int64_t tap = 0;
            do {
              bool inside = true;
              int64_t at = 0;
              for (int a = 0; a < axes; ++a) {
                const int p = i[a] * s.stride[a] - s.pad[a] + k[a] * s.dilation[a];
                inside = inside && p >= 0 && p < output[a];
                at = at * output[a] + p;
              }
              if (inside) {
                expected[(int64_t(n) * s.num_output + m) * out_spatial + at] +=
                    w[(int64_t(c) * out_per_group + o) * taps + tap] * value;
              }
              ++tap;
            } while (Advance(s.kernel, &k));
          }
        } while (Advance(input, &i));
      }
    }
    for (size_t j = 0; j < expected.size(); ++j) expected[j] += b[(j / out_spatial) % s.num_output];
    ExpectBlobNear(expected, *top[0], 1e-4f);
  };
  return c;
}

std::vector<LayerCase> NdDeconvCases() {
  std::vector<LayerCase> cases;
  cases.push_back(NdDeconvCase("ThreeDStride2", "kernel_size: 2 stride: 2", {2, 2, 2, 3, 2},
                               {{2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}}));
  NdSpec per_axis{{3, 2, 2}, {1, 2, 1}, {1, 0, 0}, {1, 1, 2}};
  per_axis.group = 2;
  cases.push_back(NdDeconvCase("ThreeDPerAxisGroup2",
                               "kernel_size: 3 kernel_size: 2 kernel_size: 2 stride: 1 stride: 2 "
                               "stride: 1 pad: 1 pad: 0 pad: 0 dilation: 1 dilation: 1 "
                               "dilation: 2 group: 2",
                               {1, 4, 2, 3, 3}, per_axis));
  cases.push_back(NdDeconvCase("OneD", "kernel_size: 3 stride: 2 pad: 1", {2, 3, 4},
                               {{3}, {2}, {1}, {1}}));
  cases.push_back(NdDeconvCase("ForceNdTwoD", "kernel_size: 3 stride: 2 pad: 1 "
                               "force_nd_im2col: true", {2, 2, 3, 4},
                               {{3, 3}, {2, 2}, {1, 1}, {1, 1}}));
  return cases;
}

INSTANTIATE_TEST_SUITE_P(DeconvolutionNd, LayerCaseTest, ::testing::ValuesIn(NdDeconvCases()),
                         LayerCaseName);

TEST(DeconvolutionLayerTest, BilinearFillerUpsamplesAConstantToAConstant) {
  // The classic FCN upsampling layer: group = channels, bilinear weights.
  auto layer = MakeLayer("name: 'up' type: 'Deconvolution' convolution_param { num_output: 2 "
                         "group: 2 kernel_size: 4 stride: 2 pad: 1 bias_term: false "
                         "weight_filler { type: 'bilinear' } }");
  Blob in({1, 2, 4, 4}), out;
  for (int i = 0; i < in.count(); ++i) in.mutable_cpu_data()[i] = 3.f;
  layer->SetUp({&in}, {&out});
  layer->Forward({&in}, {&out});
  EXPECT_EQ(out.shape(), (std::vector<int>{1, 2, 8, 8}));
  // Away from the border every output pixel gets full bilinear weight.
  for (int c = 0; c < 2; ++c) {
    for (int h = 1; h < 7; ++h) {
      for (int w = 1; w < 7; ++w) EXPECT_NEAR(out.cpu_data()[(c * 8 + h) * 8 + w], 3.f, 1e-5f);
    }
  }
}

TEST(DeconvolutionLayerTest, BadParametersThrow) {
  Blob in({1, 3, 4, 4}), out;
  EXPECT_THROW(MakeLayer("name: 'd' type: 'Deconvolution' convolution_param { num_output: 2 }")
                   ->SetUp({&in}, {&out}),
               Error);  // no kernel
  EXPECT_THROW(MakeLayer("name: 'd' type: 'Deconvolution' convolution_param { num_output: 2 "
                         "kernel_size: 3 group: 2 }")
                   ->SetUp({&in}, {&out}),
               Error);  // 3 channels, group 2
  EXPECT_THROW(MakeLayer("name: 'd' type: 'Deconvolution' convolution_param { num_output: 2 "
                         "kernel_size: 1 pad: 3 }")
                   ->SetUp({&in}, {&out}),
               Error);  // empty output
}

}  // namespace
}  // namespace testing
}  // namespace cortado
